/**
 * The limits every value a client sends must keep (docs/hostile-input.md): a bounded shape
 * (nesting, keys), finite numbers, and strings Postgres and JSON can store as sent (no NUL, no
 * lone UTF-16 surrogate, which would otherwise fail a write after the 202 or be rewritten to
 * U+FFFD). Walked with an explicit stack: no payload can exhaust the call stack.
 */

export const MAX_JSON_DEPTH = 32;
export const MAX_JSON_KEYS = 10_000;

export interface JsonLimits {
  /** Levels of objects and arrays; the value itself, when a container, is level 1. */
  maxDepth: number;
  /** Object keys in all, at every level. */
  maxKeys: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxKeys: MAX_JSON_KEYS };

export interface JsonProblem {
  /** Where, as `root.key[3]`; the root alone when the problem is the value's shape. */
  field: string;
  message: string;
}

// In a /u pattern a surrogate range matches only surrogates that are not half of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why a string cannot be taken, or null when it can. */
export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone UTF-16 surrogate';
  return null;
}

interface Node {
  value: unknown;
  depth: number;
  parent: Node | null;
  key: string | number;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathOf(node: Node | null, root: string, extraKey?: string): string {
  const parts: string[] = [];
  const push = (key: string | number) =>
    parts.push(typeof key === 'number' ? `[${key}]` : IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);
  if (extraKey !== undefined) push(extraKey);
  for (let n = node; n && n.parent; n = n.parent) push(n.key);
  const tail = parts.reverse().join('');
  if (!root) return tail.startsWith('.') ? tail.slice(1) : tail;
  return root + tail;
}

/**
 * The first problem of `value` (named from `root`), or null when it keeps every limit.
 * Objects may be class instances (DTOs): only their own enumerable keys are walked.
 */
export function inspectJson(value: unknown, root: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonProblem | null {
  let keys = 0;
  const stack: Node[] = [{ value, depth: 1, parent: null, key: '' }];
  while (stack.length) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return { field: pathOf(node, root), message: `${pathOf(node, root) || 'value'} ${problem}` };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { field: pathOf(node, root), message: `${pathOf(node, root) || 'value'} must be a finite number` };
    } else if (typeof v === 'object' && v !== null) {
      if (node.depth > limits.maxDepth) {
        return { field: root, message: `${root || 'body'} is nested more than ${limits.maxDepth} levels deep` };
      }
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth: node.depth + 1, parent: node, key: i });
      } else if (!(v instanceof Date)) {
        const own = Object.keys(v);
        keys += own.length;
        if (keys > limits.maxKeys) return { field: root, message: `${root || 'body'} has more than ${limits.maxKeys} keys in all` };
        for (let i = own.length - 1; i >= 0; i--) {
          const key = own[i];
          const problem = stringProblem(key);
          if (problem) {
            const where = pathOf(node, root, key);
            return { field: where, message: `key ${JSON.stringify(key)} of ${pathOf(node, root) || 'body'} ${problem}` };
          }
          stack.push({ value: (v as Record<string, unknown>)[key], depth: node.depth + 1, parent: node, key });
        }
      }
    }
  }
  return null;
}
