import { isUnavailable } from './unavailable';

describe('isUnavailable', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a refused multi-address connection', Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {})],
    ['a server shutting down (TypeORM-wrapped)', Object.assign(new Error('terminating connection'), { driverError: { code: '57P01' } })],
    ['a server starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    ['Redis retries used up', new Error('Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.')],
  ])('is true for %s', (_what, err) => expect(isUnavailable(err)).toBe(true));

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a plain bug', new TypeError('x is undefined')],
    ['nothing', undefined],
  ])('is false for %s', (_what, err) => expect(isUnavailable(err)).toBe(false));
});
