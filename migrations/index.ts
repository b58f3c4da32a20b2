import { Foundation1764000000000 } from './1764000000000-foundation';
import { Telemetry1764000000001 } from './1764000000001-telemetry';

/** Every migration, oldest first. Listed explicitly so the app, the CLI and tests agree. */
export const MIGRATIONS = [Foundation1764000000000, Telemetry1764000000001];
