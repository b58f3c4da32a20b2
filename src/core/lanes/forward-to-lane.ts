import { SetMetadata } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Agent, OutgoingHttpHeaders, request } from 'node:http';
import { ServiceUnavailableError } from '../errors/app-error';

export const LANE_ROUTE = 'watchpost:lane-route';

/** A route whose large requests the api's lane handles (docs/lanes.md); BodyReader forwards them. */
export const LargeBodiesToLane = () => SetMetadata(LANE_ROUTE, true);

/** Headers about this hop only, never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host']);

const agent = new Agent({ keepAlive: true });

/** Whether a request's body is large enough for the lane: long, compressed (its size unknown until inflated) or of unknown length. */
export function isLargeBody(req: Request, bodyBytes: number): boolean {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') return true;
  const length = req.headers['content-length'];
  return length === undefined || Number(length) >= bodyBytes;
}

const unavailable = () => new ServiceUnavailableError('TELEMETRY.UNAVAILABLE', 'telemetry cannot be accepted right now; retry later');

/**
 * Sends the request, body unread, to the api lane on `port` and resolves with the lane's
 * answer (status and Retry-After set on `res`): what the lane's own pipeline (guards, body,
 * validation, queueing) decided. If the lane fails before answering, a 503: nothing was
 * acknowledged, and the client's retry is safe (event ids).
 */
export function forwardToLane(req: Request & { id?: string }, res: Response, port: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
    if (req.id) headers['x-request-id'] = req.id;
    const out = request({ host: '127.0.0.1', port, method: req.method, path: req.originalUrl, headers, agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('error', () => reject(unavailable()));
      answer.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return reject(unavailable());
        }
        res.status(answer.statusCode ?? 503);
        const retryAfter = answer.headers['retry-after'];
        if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
        resolve(body);
      });
    });
    out.on('error', () => reject(unavailable()));
    // A client gone before its body was sent leaves nothing for the lane to answer.
    req.on('error', () => out.destroy());
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });
}
