import { canonicalJson, deriveEventId, parseEvents } from './parse-events';

describe('canonicalJson', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { d: [{ y: 1, x: 2 }], c: null } };
    const b = { a: { c: null, d: [{ x: 2, y: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
  });

  it('keeps array order significant and tells values apart', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson({ v: 1 })).not.toBe(canonicalJson({ v: '1' }));
    expect(canonicalJson({ v: true })).not.toBe(canonicalJson({ v: 'true' }));
  });
});

describe('deriveEventId', () => {
  const ts = '2026-01-05T10:00:00.000Z';

  it('is stable: the same time and data always give the same id, whatever the key order', () => {
    const id = deriveEventId(ts, { temperature: 21.5, humidity: 40 });
    expect(id).toBe(deriveEventId(ts, { humidity: 40, temperature: 21.5 }));
    expect(id).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
    expect(id.length).toBeLessThanOrEqual(200);
  });

  it('differs when the time or the data differ', () => {
    const id = deriveEventId(ts, { temperature: 21.5 });
    expect(deriveEventId('2026-01-05T10:00:00.001Z', { temperature: 21.5 })).not.toBe(id);
    expect(deriveEventId(ts, { temperature: 21.6 })).not.toBe(id);
    expect(deriveEventId(ts, { temperature: 21.5, x: null })).not.toBe(id);
  });
});

describe('parseEvents', () => {
  it('normalises valid events: UTC ts, given event_id kept, missing one derived', () => {
    const { readings, rejected } = parseEvents([
      { ts: '2026-01-05T12:00:00+02:00', data: { v: 1 }, event_id: 'e-1' },
      { ts: 1767607200, data: { v: 2 } },
    ]);
    expect(rejected).toEqual([]);
    expect(readings).toEqual([
      { index: 0, eventId: 'e-1', ts: '2026-01-05T10:00:00.000Z', data: { v: 1 } },
      { index: 1, eventId: deriveEventId('2026-01-05T10:00:00.000Z', { v: 2 }), ts: '2026-01-05T10:00:00.000Z', data: { v: 2 } },
    ]);
  });

  it('derives the same id for one instant written in different ways', () => {
    const { readings } = parseEvents([
      { ts: '2026-01-05T10:00:00Z', data: { v: 1 } },
      { ts: '2026-01-05T12:00:00+02:00', data: { v: 1 } },
      { ts: 1767607200, data: { v: 1 } },
      { ts: '2026-01-05T10:00:00', data: { v: 1 } },
    ]);
    expect(new Set(readings.map((r) => r.eventId)).size).toBe(1);
  });

  it('rejects each bad event with its index and field, and keeps the good ones in batch order', () => {
    const { readings, rejected } = parseEvents([
      'not an object',
      { ts: '2026-01-05T10:00:00Z', data: { v: 1 } },
      null,
      { data: { v: 1 } },
      { ts: 'noon', data: { v: 1 } },
      { ts: 1767607200, data: [1, 2] },
      { ts: 1767607200, data: 'x' },
      { ts: 1767607200, data: { v: 1 }, event_id: '' },
      { ts: 1767607200, data: { v: 1 }, event_id: 42 },
      { ts: 1767607200, data: { v: 1 }, event_id: 'e'.repeat(201) },
      { ts: 1767607201, data: { v: 2 }, event_id: 'e'.repeat(200) },
    ]);
    expect(readings.map((r) => r.index)).toEqual([1, 10]);
    expect(rejected.map(({ index, field }) => ({ index, field }))).toEqual([
      { index: 0, field: 'events[0]' },
      { index: 2, field: 'events[2]' },
      { index: 3, field: 'events[3].ts' },
      { index: 4, field: 'events[4].ts' },
      { index: 5, field: 'events[5].data' },
      { index: 6, field: 'events[6].data' },
      { index: 7, field: 'events[7].event_id' },
      { index: 8, field: 'events[8].event_id' },
      { index: 9, field: 'events[9].event_id' },
    ]);
    for (const r of rejected) expect(r.error).toEqual(expect.any(String));
    expect(rejected.find((r) => r.index === 3)!.error).toBe('ts is required');
  });

  it('rejects an impossible date rather than storing another day', () => {
    const { readings, rejected } = parseEvents([{ ts: '2026-02-30T10:00:00Z', data: { v: 1 } }]);
    expect(readings).toEqual([]);
    expect(rejected).toEqual([{ index: 0, field: 'events[0].ts', error: expect.any(String) }]);
  });
});
