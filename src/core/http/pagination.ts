import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { Response } from 'express';
import { map, Observable } from 'rxjs';
import { ValidationError } from '../errors/app-error';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/**
 * The optional `limit` of a list or read query: an integer 1…MAX_LIMIT. (Listed bottom-up, as
 * stacked decorators apply, so validation runs its checks in the order it always did.)
 */
export const LimitField = () => applyDecorators(Max(MAX_LIMIT), Min(1), IsInt(), Type(() => Number), IsOptional());

export class PageQuery {
  @LimitField()
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/** What a repository needs to read one page, newest first, by descending id. */
export interface PageRequest {
  limit: number;
  beforeId: number | null;
}

export function pageRequest(query: PageQuery): PageRequest {
  return { limit: query.limit ?? DEFAULT_LIMIT, beforeId: decodeCursor(query.cursor) };
}

export function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined || cursor === '') return null;
  const match = /^id:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw ValidationError.field('cursor', 'cursor is not one this API returned');
  return Number(match[1]);
}

/**
 * A page of results. Repositories read `limit + 1` rows; the extra one only says that more
 * remain, and the interceptor turns that into `X-Next-Cursor`.
 */
export class Page<T> {
  constructor(
    readonly items: T[],
    readonly nextCursor: string | null,
  ) {}

  static of<R extends { id: number }, T>(rows: R[], request: PageRequest, toItem: (row: R) => T): Page<T> {
    const more = rows.length > request.limit;
    const kept = more ? rows.slice(0, request.limit) : rows;
    return new Page(kept.map(toItem), more ? encodeCursor(kept[kept.length - 1].id) : null);
  }
}

/** Lists are plain JSON arrays; the cursor travels in a header. */
@Injectable()
export class PageInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((body) => {
        if (!(body instanceof Page)) return body;
        if (body.nextCursor) {
          context.switchToHttp().getResponse<Response>().setHeader('X-Next-Cursor', body.nextCursor);
        }
        return body.items;
      }),
    );
  }
}
