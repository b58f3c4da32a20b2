import { Foundation1764000000000 } from './1764000000000-foundation';

/** Every migration, oldest first. Listed explicitly so the app, the CLI and tests agree. */
export const MIGRATIONS = [Foundation1764000000000];
