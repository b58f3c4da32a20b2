import { catchUpRollupsTiming, CLOCK_MARGIN_MS, GATHER_MS, nextWindowJobId } from './catch-up-rollups.job';

describe('catchUpRollupsTiming', () => {
  const t0 = Date.parse('2026-03-01T10:00:00.000Z');
  const due = (now: number) => now + catchUpRollupsTiming(7, now).delay;

  it('gives every flush of one window the same job, per project', () => {
    const times = [t0, t0 + 1, t0 + GATHER_MS / 2, t0 + GATHER_MS - 1];
    expect(new Set(times.map((t) => catchUpRollupsTiming(7, t).jobId)).size).toBe(1);
    expect(catchUpRollupsTiming(8, t0).jobId).not.toBe(catchUpRollupsTiming(7, t0).jobId);
  });

  it('makes the job due only after the last flush that can join it, by the clock margin', () => {
    for (const t of [t0, t0 + 1, t0 + GATHER_MS - 1]) {
      expect(due(t)).toBe(t0 + GATHER_MS + CLOCK_MARGIN_MS);
      expect(catchUpRollupsTiming(7, t).delay).toBeGreaterThan(CLOCK_MARGIN_MS);
    }
  });

  it('gives a flush while the job may be running a job of its own', () => {
    const first = catchUpRollupsTiming(7, t0);
    for (const later of [due(t0) - CLOCK_MARGIN_MS, due(t0), due(t0) + 5 * GATHER_MS]) {
      expect(catchUpRollupsTiming(7, later).jobId).not.toBe(first.jobId);
      expect(due(later)).toBeGreaterThan(later);
    }
  });
});

describe('nextWindowJobId', () => {
  it('names the same project’s job of the next window', () => {
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    const { jobId } = catchUpRollupsTiming(7, t0);
    expect(nextWindowJobId(jobId)).toBe(catchUpRollupsTiming(7, t0 + GATHER_MS).jobId);
    expect(nextWindowJobId(jobId)).not.toBe(catchUpRollupsTiming(8, t0 + GATHER_MS).jobId);
    expect(nextWindowJobId('something else')).toBeNull();
  });
});
