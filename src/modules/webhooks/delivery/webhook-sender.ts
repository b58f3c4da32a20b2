import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import axios, { AxiosInstance } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { MAX_RESPONSE_BYTES, readAtMost } from './response-body';
import { APP_CONFIG, AppConfig } from '../../../config/app-config';
import { guardedLookup } from '../url-guard';

/** What a subscriber's answer is kept of. */
export interface SendResult {
  statusCode: number;
  retryAfter: string | undefined;
}


type ConnectionFactory = (options: unknown, callback?: unknown) => Socket;

/**
 * Keep-alive agents that give up on a connection not made within `connectTimeoutMs` (axios's
 * own timeout covers the whole request), and that resolve names through the SSRF guard, so a
 * name that turns private between the check and the connect (DNS rebinding) is refused.
 */
function withConnectTimeout<A extends http.Agent>(agent: A, connectTimeoutMs: number): A {
  const create = (agent as unknown as { createConnection: ConnectionFactory }).createConnection.bind(agent);
  (agent as unknown as { createConnection: ConnectionFactory }).createConnection = (options, callback) => {
    const socket = create(options, callback);
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no connection within ${connectTimeoutMs} ms`), { code: 'ECONNECTTIMEOUT' });
      socket.destroy(err);
    }, connectTimeoutMs);
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
  return agent;
}

/** The one HTTP client of webhook delivery. */
@Injectable()
export class WebhookSender implements OnApplicationShutdown {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly client: AxiosInstance;

  private readonly timeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { connectTimeoutMs, timeoutMs, allowPrivateTargets } = config.webhooks;
    this.timeoutMs = timeoutMs;
    const lookup = guardedLookup(allowPrivateTargets);
    const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, lookup };
    this.httpAgent = withConnectTimeout(new http.Agent(agentOptions), connectTimeoutMs);
    this.httpsAgent = withConnectTimeout(new https.Agent(agentOptions), connectTimeoutMs);
    this.client = axios.create({
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      timeout: timeoutMs,
      maxRedirects: 0,
      proxy: false,
      responseType: 'stream',
      // The body goes as the exact bytes that were signed, and the answer is not parsed:
      // axios's own transforms cost more CPU per delivery than the HTTP exchange.
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      decompress: false,
      validateStatus: () => true,
    });
  }

  /** Resolves with any HTTP answer; rejects only when none came (network, timeout). */
  async send(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = Date.now();
    const res = await this.client.post<Readable>(url, Buffer.from(body), {
      headers: { 'content-type': 'application/json', 'user-agent': 'Watchpost-Webhooks/1.0', ...headers },
    });
    await readAtMost(res.data, MAX_RESPONSE_BYTES, Math.max(0, this.timeoutMs - (Date.now() - started)));
    const retryAfter = res.headers['retry-after'];
    return { statusCode: res.status, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined };
  }

  onApplicationShutdown(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
