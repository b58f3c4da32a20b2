import { normalizeTags } from './tags';

describe('normalizeTags', () => {
  it('is empty for no tags', () => {
    expect(normalizeTags(undefined)).toEqual([]);
    expect(normalizeTags([])).toEqual([]);
  });

  it('trims every tag', () => {
    expect(normalizeTags(['  a', 'b  ', '\tc\n'])).toEqual(['a', 'b', 'c']);
  });

  it('drops tags that are blank once trimmed', () => {
    expect(normalizeTags(['', '   ', 'x', '\t'])).toEqual(['x']);
  });

  it('drops repeats, also those that only differ by surrounding blanks, keeping the first-seen order', () => {
    expect(normalizeTags(['zone-b', 'zone-a', ' zone-b ', 'zone-c', 'zone-a'])).toEqual(['zone-b', 'zone-a', 'zone-c']);
  });

  it('keeps the given order rather than sorting', () => {
    expect(normalizeTags(['z', 'a', 'm'])).toEqual(['z', 'a', 'm']);
  });

  it('keeps inner blanks', () => {
    expect(normalizeTags([' floor 1 ', 'floor 1', 'floor  1'])).toEqual(['floor 1', 'floor  1']);
  });

  it('does not change its input', () => {
    const input = [' a ', 'a'];
    normalizeTags(input);
    expect(input).toEqual([' a ', 'a']);
  });
});
