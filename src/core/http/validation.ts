import { ArgumentMetadata, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import type { ValidationError as ClassValidatorError } from 'class-validator';
import { FieldProblem, ValidationError } from '../errors/app-error';
import { idMessage, toId } from './ids';
import { inspectJson, stringProblem } from './json-inspection';

function flatten(errors: ClassValidatorError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const err of errors) {
    const field = /^\d+$/.test(err.property)
      ? `${parent}[${err.property}]`
      : parent
        ? `${parent}.${err.property}`
        : err.property;
    for (const message of Object.values(err.constraints ?? {})) {
      out.push({ field, message: message.replace(err.property, field) });
    }
    if (err.children?.length) out.push(...flatten(err.children, field));
  }
  return out;
}

/**
 * The global pipe: class-validator DTOs, unknown fields dropped, payload transformed, every
 * offending field named in a 422. A body that is not a JSON object is refused as a whole.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: false,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new ValidationError(flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Path parameters reach their own pipes (IdPipe) as sent: converting them here first would
    // turn "1e3" or "0x10" into numbers that pass for ids.
    if (metadata.type === 'param') {
      const problem = typeof value === 'string' ? stringProblem(value) : null;
      if (problem) throw ValidationError.field(metadata.data ?? 'path', `${metadata.data ?? 'path'} ${problem}`);
      return value;
    }
    const dto = !!metadata.metatype && metadata.metatype !== Object;
    if (metadata.type === 'body' && dto) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw ValidationError.field('body', 'body must be a JSON object');
      }
    }
    // The limits of docs/hostile-input.md, before class-transformer walks the value (it
    // recurses). A body without a DTO (telemetry) applies them itself, event by event.
    if (metadata.type === 'query' || (metadata.type === 'body' && dto)) {
      const problem = inspectJson(value, metadata.type === 'query' ? (metadata.data ?? '') : '');
      if (problem) throw ValidationError.field(problem.field || metadata.type, problem.message);
    }
    return super.transform(value, metadata);
  }
}

/** Path ids are integers within 1…2^63−1 (see ids.ts); anything else is a 422 naming the parameter. */
@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  transform(value: string, metadata: ArgumentMetadata): number {
    const name = metadata.data ?? 'id';
    const id = toId(value);
    if (id === null) throw ValidationError.field(name, idMessage(name));
    return id;
  }
}
