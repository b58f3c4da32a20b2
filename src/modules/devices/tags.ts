/** Trims every tag, drops blanks and repeats, and keeps the first-seen order. */
export function normalizeTags(tags: readonly string[] | undefined): string[] {
  const seen = new Set<string>();
  for (const raw of tags ?? []) {
    const tag = raw.trim();
    if (tag) seen.add(tag);
  }
  return [...seen];
}
