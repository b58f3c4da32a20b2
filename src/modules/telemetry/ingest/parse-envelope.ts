import { FieldProblem, ValidationError } from '../../../core/errors/app-error';
import { stringProblem } from '../../../core/http/json-inspection';

/**
 * The batch envelope, checked by hand rather than by the global ValidationPipe: a batch may
 * hold 5000 events, and class-transformer would deep-copy every one of them for nothing.
 */
export function parseEnvelope(body: unknown): { deviceExternalId: string; events: unknown[] } {
  const problems: FieldProblem[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.field('body', 'body must be a JSON object');
  }
  const { device_external_id: id, events } = body as Record<string, unknown>;
  if (typeof id !== 'string' || id.trim() === '') {
    problems.push({ field: 'device_external_id', message: 'device_external_id must be a non-empty string' });
  } else if (id.length > 200) {
    problems.push({ field: 'device_external_id', message: 'device_external_id must be at most 200 characters' });
  } else if (stringProblem(id)) {
    problems.push({ field: 'device_external_id', message: `device_external_id ${stringProblem(id)}` });
  }
  if (!Array.isArray(events)) problems.push({ field: 'events', message: 'events must be an array' });
  if (problems.length) throw new ValidationError(problems);
  return { deviceExternalId: (id as string).trim(), events: events as unknown[] };
}
