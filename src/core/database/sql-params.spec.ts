import { SqlParams } from './sql-params';

describe('SqlParams', () => {
  it('numbers values in the order they are added, whichever piece adds them', () => {
    const q = new SqlParams();
    const project = q.add(7);
    const fragment = (params: SqlParams) => `metric = ${params.add('temp')} AND hour = ANY(${params.add([1, 2])})`;
    const sql = `project_id = ${project} AND ${fragment(q)} AND day = ${q.add('2026-03-01')}`;
    expect(sql).toBe('project_id = $1 AND metric = $2 AND hour = ANY($3) AND day = $4');
    expect(q.values).toEqual([7, 'temp', [1, 2], '2026-03-01']);
  });
});
