import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError as ClassValidatorError } from 'class-validator';
import { BusinessRuleError, FieldProblem, ValidationError } from '../../core/errors/app-error';
import { NO_DATA_ONLY_FIELDS, RuleDto, THRESHOLD_ONLY_FIELDS } from './dto/rule.dto';
import type { RuleFields } from './rules.repository';

const problems = (errors: ClassValidatorError[]): FieldProblem[] =>
  errors.flatMap((e) => Object.values(e.constraints ?? {}).map((message) => ({ field: e.property, message })));

const given = (v: unknown) => v !== undefined && v !== null;

/**
 * The one check every stored rule passes, on create and on the merged result of a PATCH:
 * field schema (422), fields of the other rule type absent or null (422), tag only with TAG
 * scope (422), then required_k ≤ window_n and clear_threshold on the safe side (400).
 */
export function validateRule(input: Record<string, unknown>): RuleFields {
  const dto = plainToInstance(RuleDto, input);
  const found = problems(validateSync(dto, { whitelist: true }));
  const type = dto.type ?? 'threshold';
  const foreign = type === 'no_data' ? THRESHOLD_ONLY_FIELDS : NO_DATA_ONLY_FIELDS;
  for (const field of foreign) {
    if (given(dto[field])) found.push({ field, message: `${field} does not apply to ${type} rules and must be absent or null` });
  }
  const scope = dto.scope ?? 'ALL';
  const tag = dto.tag ?? null;
  if (scope !== 'TAG' && tag !== null) found.push({ field: 'tag', message: 'tag must be null unless scope is TAG' });
  if (scope === 'TAG' && tag === null) found.push({ field: 'tag', message: 'tag is required when scope is TAG' });
  if (found.length) throw new ValidationError(found);

  const common = {
    name: dto.name,
    type,
    cooldown_seconds: dto.cooldown_seconds ?? 300,
    enabled: dto.enabled ?? true,
    scope,
    tag,
    severity: dto.severity ?? 'warning',
  };
  if (type === 'no_data') {
    return {
      ...common,
      metric: dto.metric ?? null,
      operator: null,
      threshold: null,
      window_n: null,
      required_k: null,
      for_seconds: null,
      clear_threshold: null,
      no_data_seconds: dto.no_data_seconds!,
    };
  }
  if (dto.required_k! > dto.window_n!) {
    throw new BusinessRuleError('RULE.K_EXCEEDS_N', 'required_k must not exceed window_n', { field: 'required_k' });
  }
  const clear = dto.clear_threshold ?? null;
  if (clear !== null && !clearIsOnSafeSide(dto.operator!, dto.threshold!, clear)) {
    const side = dto.operator!.startsWith('>') ? 'at or below' : 'at or above';
    throw new BusinessRuleError('RULE.CLEAR_THRESHOLD_SIDE', `clear_threshold must be ${side} threshold for operator ${dto.operator}`, {
      field: 'clear_threshold',
    });
  }
  return {
    ...common,
    metric: dto.metric!,
    operator: dto.operator!,
    threshold: dto.threshold!,
    window_n: dto.window_n!,
    required_k: dto.required_k!,
    for_seconds: dto.for_seconds ?? 0,
    clear_threshold: clear,
    no_data_seconds: null,
  };
}

/** The clear level lies where the condition does not hold: ≤ threshold for > and >=, ≥ for < and <=. */
export function clearIsOnSafeSide(operator: string, threshold: number, clear: number): boolean {
  return operator.startsWith('>') ? clear <= threshold : clear >= threshold;
}
