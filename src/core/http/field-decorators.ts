import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, MaxLength, ValidateBy } from 'class-validator';
import { idMessage, toId, UNISSUED_ID } from './ids';

/** Trims string input before validation; other types pass through to fail their own check. */
export const Trim = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

/** A required, trimmed, non-empty string of at most `max` characters. */
export const RequiredText = (max: number) => applyDecorators(Trim(), IsString(), IsNotEmpty(), MaxLength(max));

export const NAME_MAX = 200;
export const TAG_MAX = 64;

const idOrNaN = (value: unknown) => toId(value) ?? NaN;

/** A DTO field holding an id (or, with `each`, an array of ids), in the query or the body. */
export const IdField = (opts: { each?: boolean } = {}) =>
  applyDecorators(
    Transform(({ value }) => {
      if (value === undefined || value === null) return value;
      if (opts.each) return Array.isArray(value) ? value.map(idOrNaN) : value;
      return idOrNaN(value);
    }),
    ValidateBy(
      {
        name: 'isId',
        validator: {
          validate: (v: unknown) => typeof v === 'number' && (v === UNISSUED_ID || v >= 1),
          defaultMessage: (args) => idMessage(args?.property ?? 'id'),
        },
      },
      { each: opts.each },
    ),
  );
