/**
 * What the repository classes take from `@nestjs/common`, for the repository tier only
 * (jest.config.js maps the package here). NestJS 12 ships as ES modules, which jest's CommonJS
 * runtime cannot load on Node 20; a repository needs nothing of Nest but its class decorator,
 * which only records metadata for Nest's injector. See docs/testing.md.
 */
type ClassOrMember = (target: object, key?: string | symbol, index?: number) => void;

const noDecorator = (): ClassOrMember => () => undefined;

export const Injectable = noDecorator;
export const Inject = (_token?: unknown): ClassOrMember => () => undefined;
export const Optional = noDecorator;

/** Nest's logger, as far as repositories use it: warnings and errors go to stderr. */
export class Logger {
  constructor(private readonly context = '') {}
  log(): void {}
  warn(message: string): void {
    process.stderr.write(`[${this.context}] ${message}\n`);
  }
  error(message: string): void {
    process.stderr.write(`[${this.context}] ${message}\n`);
  }
}

/** Anything else of Nest would run nothing here: fail loudly rather than pretend. */
export function createParamDecorator(): never {
  throw new Error('@nestjs/common is stubbed in jest: test this through the e2e tier');
}
