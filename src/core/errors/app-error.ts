/**
 * Every error the platform means to show a client. Services throw these (never HTTP
 * exceptions), so the same code behaves inside a job; the exception filter maps them to the
 * `{error: {code, message, details}, request_id}` shape.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** 422: the request does not match the schema. */
export class ValidationError extends AppError {
  constructor(problems: FieldProblem[], code = 'REQUEST.VALIDATION_FAILED', summary?: string) {
    const message = summary ?? (problems.map((p) => p.message).join('; ') || 'invalid request');
    super(422, code, message, problems);
  }

  static field(field: string, message: string): ValidationError {
    return new ValidationError([{ field, message }]);
  }
}

/** 400: well-formed but breaks a business rule. */
export class BusinessRuleError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(400, code, message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(code: string, message: string) {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(code: string, message: string) {
    super(403, code, message);
  }
}

/** 429: a quota or cap is reached; `Retry-After` tells when to try again. */
export class RateLimitedError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, code, message, { retry_after_seconds: retryAfterSeconds });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string) {
    super(503, code, message);
  }
}
