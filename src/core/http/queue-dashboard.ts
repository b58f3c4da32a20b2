import type { INestApplication } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, Response } from 'express';
import type { AppConfig } from '../../config/app-config';
import { adminTokenMatcher } from '../auth/admin-token';
import { errorBody } from '../errors/error-body';
import { JobQueue } from '../queue/job-queue.service';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at /admin/queues, for the admin only: the token as `X-Admin-Token`, or as the
 * password of HTTP Basic auth so a browser can open it (any user name).
 */
export function mountQueueDashboard(app: INestApplication, config: AppConfig): void {
  const isAdminToken = adminTokenMatcher(config.adminToken);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: app.get(JobQueue).all().map((q) => new BullAdapter(q)), serverAdapter });

  const guard = (req: Request, res: Response, next: NextFunction) => {
    const basic = /^Basic\s+(.+)$/i.exec(req.header('authorization') ?? '');
    const password = basic ? Buffer.from(basic[1], 'base64').toString().split(':').slice(1).join(':') : undefined;
    if (isAdminToken(req.header('x-admin-token')) || isAdminToken(password)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="Watchpost queues", charset="UTF-8"');
    res.status(401).json(errorBody(req, 'AUTH.ADMIN_TOKEN_INVALID', 'missing or invalid admin token (X-Admin-Token, or Basic auth with the token as password)'));
  };
  app.use(QUEUE_DASHBOARD_PATH, guard, serverAdapter.getRouter());
}
