import { inspectJson, MAX_JSON_DEPTH, MAX_JSON_KEYS, stringProblem } from './json-inspection';

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { n: v };
  return v;
}

describe('stringProblem', () => {
  it('refuses NUL and lone surrogates, and takes paired surrogates (emoji) and everything else', () => {
    expect(stringProblem('a\u0000b')).toMatch(/NUL/);
    for (const s of ['\ud800', 'x\udbffy', '\udc00', 'ab\ud83d']) expect(stringProblem(s)).toMatch(/surrogate/);
    for (const s of ['', 'plain', '😀', 'caf\u00e9', '\ud83d\ude00 ok', '\uffff']) expect(stringProblem(s)).toBeNull();
  });
});

describe('inspectJson', () => {
  it(`takes ${MAX_JSON_DEPTH} levels and refuses one more, at any depth of input without recursion`, () => {
    expect(inspectJson(nested(MAX_JSON_DEPTH), 'data')).toBeNull();
    expect(inspectJson(nested(MAX_JSON_DEPTH + 1), 'data')).toEqual({ field: 'data', message: expect.stringMatching(/nested more than 32/) });
    expect(inspectJson(nested(1_000_000), 'data')?.field).toBe('data');
  });

  it(`takes ${MAX_JSON_KEYS} keys in all, counted across levels, and refuses one more`, () => {
    const half = (p: string) => Object.fromEntries(Array.from({ length: MAX_JSON_KEYS / 2 - 1 }, (_, i) => [`${p}${i}`, i]));
    expect(inspectJson({ a: half('a'), b: half('b') }, 'data')).toBeNull();
    expect(inspectJson({ a: half('a'), b: half('b'), c: 1 }, 'data')).toEqual({ field: 'data', message: expect.stringMatching(/more than 10000 keys/) });
  });

  it('names the first bad string, key or number by its path', () => {
    expect(inspectJson({ a: { b: [1, 'x\u0000'] } }, 'events[2].data')?.field).toBe('events[2].data.a.b[1]');
    expect(inspectJson({ 'odd key': '\ud800' }, 'data')?.field).toBe('data["odd key"]');
    expect(inspectJson({ ok: { 'k\u0000': 1 } }, 'data')?.field).toBe('data.ok["k\\u0000"]');
    expect(inspectJson({ t: Infinity }, 'data')).toEqual({ field: 'data.t', message: 'data.t must be a finite number' });
    expect(inspectJson({ name: 'n', tags: ['a', 'b\u0000'] }, '')?.field).toBe('tags[1]');
    expect(inspectJson({ t: -Infinity, n: NaN }, '')?.field).toBe('t');
  });

  it('takes ordinary JSON', () => {
    expect(inspectJson({ temperature: 21.5, ok: true, none: null, list: [1, 'two', { three: 3 }], when: new Date() }, 'data')).toBeNull();
  });
});
