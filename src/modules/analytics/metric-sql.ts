/**
 * How analytics SQL reads a metric, in one place for the queries over readings, the rollup
 * rebuilds and the raw edges of rollup queries: a metric is a key of a reading's JSON payload,
 * and only numbers count.
 */

/** Whether `payload -> key` is a JSON number. */
export const isNumber = (payload: string, key: string) => `jsonb_typeof(${payload} -> ${key}) = 'number'`;

/** `payload -> key` as float8 (guard it with isNumber). */
export const numberAt = (payload: string, key: string) => `(${payload} ->> ${key})::float8`;

/**
 * The start of the bucket of `seconds` (SQL) that `ts` falls in, aligned to multiples since
 * the Unix epoch. date_part works in float8; extract() would compute in numeric, about twice
 * as slow.
 */
export const epochBucket = (ts: string, seconds: string) => `to_timestamp(floor(date_part('epoch', ${ts}) / ${seconds}) * ${seconds})`;

/**
 * A project's readings of a short span, read through the (device_id, ts) index: one descent
 * per device of the project (no index leads with project_id; ingestion keeps just one).
 */
export const projectDevices = (project: string) => `r.device_id = ANY (ARRAY(SELECT id FROM devices WHERE project_id = ${project}))`;
