/** Pure: how an evaluation job is queued, from measured costs. Unit-tested beside. */

/** Below this work an evaluation is never heavy, whatever the others do: 5,000 readings for one condition, 1,000 for nine. */
export const HEAVY_EVALUATION_WORK = 10_000;
/** A project's evaluations are heavy when they typically do this many times the work of the cheapest project's. */
const HEAVY_FACTOR = 5;
/** The longest a heavy device's next evaluation is held back. */
const MAX_YIELD_MS = 10_000;
/** How long a measured work or cost counts: a device or project that went quiet starts afresh. */
export const COST_TTL_MS = 60_000;

/**
 * What an evaluation cost in work, independent of how busy the machine is: one per rule, plus,
 * for the window, each reading once to read it and once per condition counted over it (20
 * rules counting 20 conditions over 10,000 readings: 210,020; 20 rules that count the same
 * condition: 20,020; a 1-of-1 rule: 3).
 */
export function evaluationWork(rules: number, windowReadings: number, conditions: number): number {
  return rules + windowReadings * (1 + conditions);
}

/**
 * Fairness between projects: how a device's next evaluation is queued, given the wall time of
 * its last one when that was heavy (null otherwise) and how many heavy devices its project has.
 * Cheap evaluations (most: small windows) go at once. A heavy one (large windows, many rules)
 * goes on a queue of its own (`rule-evaluation-heavy`, which a worker with lanes runs at a lower
 * CPU priority, docs/lanes.md), so it never holds a cheap one's slot, and is held back twice its cost
 * for each heavy device of its project, so more readings coalesce into it and the project's
 * heavy evaluations together hold about half of one worker slot, however many devices it has.
 * One project's expensive rules thus slow its own alerts, not other projects'
 * (docs/hostile-input.md, "Fair evaluation").
 */
export function queueingFor(heavyCostMs: number | null, heavyDevicesOfProject: number): { heavy: boolean; delay: number } {
  if (heavyCostMs === null) return { heavy: false, delay: 0 };
  return { heavy: true, delay: Math.min(MAX_YIELD_MS, Math.round(2 * heavyCostMs * Math.max(1, heavyDevicesOfProject))) };
}

/**
 * Which evaluations are heavy, relative to the others this worker runs, by their work
 * (evaluationWork, which RuleEvaluationService reports), not their wall time. Wall time would follow the machine's load: once one project's
 * evaluations keep Postgres busy, every project's take long, and none stands out. Keeps each
 * project's typical work (a moving average) and compares with the cheapest project seen lately.
 * A project alone is never heavy: there is no one to be fair to.
 */
export class EvaluationCosts {
  private readonly projects = new Map<number, { typical: number; at: number }>();

  /**
   * Records one evaluation of the project, by its work; whether it was heavy. One that ran as
   * heavy stays so while its work stays above HEAVY_EVALUATION_WORK: the process that ran it
   * may see no other project to compare with (a worker's lane runs only heavy ones, docs/lanes.md).
   */
  observe(projectId: number, work: number, now: number, ranAsHeavy = false): boolean {
    const seen = this.projects.get(projectId);
    // A moving average in which one sample moves the typical work by at most 60%: a project
    // whose evaluations are heavy becomes so within a few, one outlier does not.
    const typical = seen && now - seen.at < COST_TTL_MS ? 0.8 * seen.typical + 0.2 * Math.min(work, 4 * seen.typical) : work;
    this.projects.set(projectId, { typical, at: now });
    let cheapest = Infinity;
    for (const [id, p] of this.projects) {
      if (now - p.at >= COST_TTL_MS) this.projects.delete(id);
      else cheapest = Math.min(cheapest, p.typical);
    }
    // The project's typical work decides, not this one: one large evaluation of a light project
    // (a rule just created) must not hold back its next.
    return work >= HEAVY_EVALUATION_WORK && (ranAsHeavy || typical >= HEAVY_FACTOR * cheapest);
  }
}
