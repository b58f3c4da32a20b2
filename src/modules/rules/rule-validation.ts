import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError as ClassValidatorError } from 'class-validator';
import { BusinessRuleError, FieldProblem, ValidationError } from '../../core/errors/app-error';
import { RuleDto } from './dto/rule.dto';
import type { RuleFields } from './rules.repository';

const problems = (errors: ClassValidatorError[]): FieldProblem[] =>
  errors.flatMap((e) => Object.values(e.constraints ?? {}).map((message) => ({ field: e.property, message })));

/**
 * The one check every stored rule passes, on create and on the merged result of a PATCH:
 * field schema (422), tag only with TAG scope (422), then required_k ≤ window_n (400).
 */
export function validateRule(input: Record<string, unknown>): RuleFields {
  const dto = plainToInstance(RuleDto, input);
  const found = problems(validateSync(dto, { whitelist: true }));
  const scope = dto.scope ?? 'ALL';
  const tag = dto.tag ?? null;
  if (scope !== 'TAG' && tag !== null) found.push({ field: 'tag', message: 'tag must be null unless scope is TAG' });
  if (scope === 'TAG' && tag === null) found.push({ field: 'tag', message: 'tag is required when scope is TAG' });
  if (found.length) throw new ValidationError(found);
  if (dto.required_k > dto.window_n) {
    throw new BusinessRuleError('RULE.K_EXCEEDS_N', 'required_k must not exceed window_n', { field: 'required_k' });
  }
  return {
    name: dto.name,
    metric: dto.metric,
    operator: dto.operator,
    threshold: dto.threshold,
    window_n: dto.window_n,
    required_k: dto.required_k,
    cooldown_seconds: dto.cooldown_seconds ?? 300,
    enabled: dto.enabled ?? true,
    scope,
    tag,
    severity: dto.severity ?? 'warning',
  };
}
