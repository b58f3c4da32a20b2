import type { Request } from 'express';

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
  request_id: string;
}

export function errorBody(req: Request, code: string, message: string, details: unknown = null): ErrorBody {
  return { error: { code, message, details: details ?? null }, request_id: requestIdOf(req) };
}

export function requestIdOf(req: Request): string {
  return (req as Request & { id?: string }).id ?? '';
}
