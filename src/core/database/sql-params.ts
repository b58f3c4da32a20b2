/**
 * The bound parameters of one statement assembled from pieces: each value takes the next `$n`
 * when it is added, so a fragment written in one module can be spliced into another's
 * statement without anyone counting positions by hand.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  /** The placeholder of `value`, at a new position (add a value used twice once, and reuse the text). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
