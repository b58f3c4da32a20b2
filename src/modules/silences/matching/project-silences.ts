import { activeSpans, coveredUntil, SilenceTiming } from '../windows/silence-timing';
import type { Interval } from '../windows/recurrence';

/** Which pairs a silence covers: every field given must match (an empty or absent one matches all). */
export interface Matchers {
  rule_ids?: number[];
  device_ids?: number[];
  tags?: string[];
  severities?: string[];
}

/** A (rule, device) pair as the mute check sees it: the alert's severity, the device's tags. */
export interface SilencedPair {
  ruleId: number;
  deviceId: number;
  severity: string;
  deviceTags: readonly string[];
}

export interface SilenceDefinition {
  id: number;
  matchers: Matchers;
  timing: SilenceTiming;
}

interface Compiled {
  id: number;
  rules: Set<number> | null;
  devices: Set<number> | null;
  tags: Set<string> | null;
  severities: Set<string> | null;
  timing: SilenceTiming;
  /** Worked out when a pair first matches: most silences never match most pairs. */
  spans: Interval[] | null;
}

const setOf = <T>(xs: T[] | undefined): Set<T> | null => (xs && xs.length ? new Set(xs) : null);

export function pairMatches(m: Pick<Compiled, 'rules' | 'devices' | 'tags' | 'severities'>, p: SilencedPair): boolean {
  if (m.rules && !m.rules.has(p.ruleId)) return false;
  if (m.devices && !m.devices.has(p.deviceId)) return false;
  if (m.severities && !m.severities.has(p.severity)) return false;
  if (m.tags && !p.deviceTags.some((t) => m.tags!.has(t))) return false;
  return true;
}

/**
 * A project's silences, compiled for the mute check on the hot path: matcher sets, and each
 * silence's active spans over [from, to) worked out once (when a pair first matches it), so
 * asking about a pair costs set look-ups and no time-zone math. Past `to` it must be rebuilt.
 */
export class ProjectSilences {
  private readonly silences: Compiled[];

  constructor(
    definitions: readonly SilenceDefinition[],
    readonly from: number,
    readonly to: number,
  ) {
    this.silences = definitions.map((d) => ({
      id: d.id,
      rules: setOf(d.matchers.rule_ids),
      devices: setOf(d.matchers.device_ids),
      tags: setOf(d.matchers.tags),
      severities: setOf(d.matchers.severities),
      timing: d.timing,
      spans: null,
    }));
  }

  get size(): number {
    return this.silences.length;
  }

  /** Ids of the silences muting the pair at `now`, ascending. */
  silencing(pair: SilencedPair, now: number): number[] {
    const out: number[] = [];
    for (const s of this.silences) {
      if (pairMatches(s, pair) && this.spansOf(s).some((w) => w.start <= now && now < w.end)) out.push(s.id);
    }
    return out.sort((a, b) => a - b);
  }

  /** When the pair stops being muted by every silence, as far as these spans reach (at most `to`). */
  mutedUntil(pair: SilencedPair, now: number): number {
    const spans = this.silences.filter((s) => pairMatches(s, pair)).flatMap((s) => this.spansOf(s));
    return Math.min(coveredUntil(spans, now), this.to);
  }

  private spansOf(s: Compiled): Interval[] {
    return (s.spans ??= activeSpans(s.timing, this.from, this.to));
  }
}
