import type { HttpResponse } from './http';

/**
 * Asserts the platform's error contract: the status, a JSON body
 * `{error: {code, message, details}, request_id}` and an `X-Request-ID` header equal to the
 * body's request id. Returns the error for further checks.
 */
export function expectError(res: HttpResponse, status: number, code?: string): { code: string; message: string; details: any } {
  expect({ status: res.status, text: res.text }).toEqual({ status, text: expect.any(String) });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['error', 'request_id']);
  expect(Object.keys(res.body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(res.body.error.code).toEqual(code ?? expect.stringMatching(/^[A-Z_]+\.[A-Z_.]+$/));
  expect(res.body.error.message).toEqual(expect.any(String));
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(res.body.request_id).toEqual(expect.any(String));
  expect(res.body.request_id.length).toBeGreaterThan(0);
  expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
  return res.body.error;
}

/** The distinct fields a 422 names in its details (one field may break several rules), sorted. */
export function fieldsOf(error: { details: { field: string; message: string }[] }): string[] {
  for (const d of error.details) expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
  return [...new Set(error.details.map((d) => d.field))].sort();
}
