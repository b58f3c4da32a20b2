import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { currentLogContext } from './log-context';

/**
 * Keys whose values never reach a log line, wherever they appear in a logged object. The
 * platform logs no request bodies or headers; this is the net under that rule.
 */
const REDACT = [
  'secret', 'api_key', 'apiKey', 'adminToken', 'password', 'authorization', 'x-api-key', 'x-admin-token',
  '*.secret', '*.api_key', '*.apiKey', '*.adminToken', '*.password', '*.authorization', '*["x-api-key"]', '*["x-admin-token"]',
  'headers.authorization', 'headers["x-api-key"]', 'headers["x-admin-token"]',
];

const NEST_TO_PINO = { log: 'info', error: 'error', warn: 'warn', debug: 'debug', verbose: 'trace', fatal: 'fatal' } as const;

/**
 * Nest's logger interface over pino: one JSON object per line on stdout, with the request id,
 * project id and job id of whatever is running (see log-context.ts).
 */
export class PinoLogger implements LoggerService {
  readonly pino: Logger;

  constructor(level: string, destination?: pino.DestinationStream) {
    this.pino = pino(
      {
        level,
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths: REDACT, censor: '[redacted]' },
        mixin: () => ({ ...currentLogContext() }),
      },
      destination ?? pino.destination({ dest: 1, sync: true }),
    );
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /** Nest passes (message, context) or (message, stack, context) for errors. */
  private write(level: keyof typeof NEST_TO_PINO, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = level === 'error' && typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    const target = this.pino[NEST_TO_PINO[level]].bind(this.pino);
    if (message instanceof Error) target({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) target({ ...fields, ...(message as object) });
    else target(fields, String(message));
  }
}
