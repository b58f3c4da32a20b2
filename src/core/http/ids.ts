/** Ids as the API reads them (pure: unit-tested beside). The DTO decorator is IdField. */

/** The largest id Postgres' bigint holds: the API refuses ids outside 1…MAX_ID (422). */
export const MAX_ID = 2n ** 63n - 1n;

/**
 * An id within range that no row can have. Ids are issued from 1 upwards and stay far below
 * 2^53, so a larger one (which a JS number cannot even hold exactly) is looked up as this, and
 * answers like any other id that is not there: 404.
 */
export const UNISSUED_ID = -1;

export const idMessage = (field: string) => `${field} must be an integer id between 1 and ${MAX_ID}`;

/** The id `value` names (digits, or an integer JSON number), UNISSUED_ID, or null when it is no id. */
export function toId(value: unknown): number | null {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value >= 2 ** 63) return null;
    return Number.isSafeInteger(value) ? value : UNISSUED_ID;
  }
  if (typeof value !== 'string' || !/^\d{1,40}$/.test(value)) return null;
  const id = BigInt(value);
  if (id < 1n || id > MAX_ID) return null;
  return id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : UNISSUED_ID;
}
