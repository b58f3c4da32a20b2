import { DataSource } from 'typeorm';
import { inTransaction } from '../../src/core/database/transaction';
import { AlertsRepository } from '../../src/modules/alerts/alerts.repository';
import type { SilenceFields } from '../../src/modules/silences/silence.entity';
import { SilencesRepository } from '../../src/modules/silences/silences.repository';
import { makeRule, makeTenant, openDataSource, RepoTenant } from '../support/repository-tier';

const HOUR = 3_600_000;

/**
 * A silence's change against a release running at the same moment (docs/silences.md,
 * "Release"): whatever the interleaving, a held notification is due for a recheck once the
 * change has committed, so the release that follows reads the silence as changed.
 */
describe('SilencesRepository: a change and a concurrent release (real Postgres)', () => {
  let ds: DataSource;
  let silences: SilencesRepository;
  let alerts: AlertsRepository;

  beforeAll(async () => {
    ds = await openDataSource();
    silences = new SilencesRepository(ds);
    alerts = new AlertsRepository(ds);
  });
  afterAll(() => ds?.destroy());

  /** A project with one open alert whose trigger a silence holds (due for a recheck now, as `hold` leaves it). */
  const heldAlert = async (): Promise<{ t: RepoTenant; silenceId: number; alertId: number; fields: SilenceFields }> => {
    const t = await makeTenant(ds, 1);
    const ruleId = await makeRule(ds, t);
    const fields: SilenceFields = {
      matchers: { device_ids: [t.devices[0]] },
      startsAt: new Date(Date.now() - HOUR),
      endsAt: new Date(Date.now() + HOUR),
      recurrence: null,
      comment: null,
      createdBy: null,
    };
    const silence = await silences.insert(t, fields);
    const alertId = await inTransaction(ds, async (tx) => {
      const alert = await alerts.open(tx, t, { deviceId: t.devices[0], ruleId, severity: 'warning', details: {} });
      await silences.hold(tx, t, alert!.id, 'alert.triggered');
      return Number(alert!.id);
    });
    return { t, silenceId: Number(silence.id), alertId, fields };
  };

  const secondsUntilRecheck = async (alertId: number): Promise<number> =>
    Number((await ds.query(`SELECT extract(epoch FROM recheck_at - now()) AS s FROM muted_notifications WHERE alert_id = $1`, [alertId]))[0].s);

  const changes: [string, (h: Awaited<ReturnType<typeof heldAlert>>) => Promise<unknown>][] = [
    ['PATCH (matchers narrowed)', (h) => silences.update(h.t, h.silenceId, { ...h.fields, matchers: { tags: ['elsewhere'] } })],
    ['DELETE (ended now)', (h) => silences.end(h.t, h.silenceId)],
  ];

  it.each(changes)('%s: a release that read the silence before the change and puts the recheck off does not delay it', async (_, change) => {
    const h = await heldAlert();
    // A release has locked the due row and read the silences before the change (still muted).
    const release = ds.createQueryRunner();
    await release.connect();
    await release.startTransaction();
    try {
      const locked = await release.query(`SELECT alert_id FROM muted_notifications WHERE alert_id = $1 AND recheck_at <= now() FOR UPDATE SKIP LOCKED`, [h.alertId]);
      expect(locked).toHaveLength(1);
      let done = false;
      const changing = change(h).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 300));
      // The change waits for the release's row (it is about to rewrite it).
      expect(done).toBe(false);
      // The release then puts the recheck off as far as it may, and commits.
      await release.query(`UPDATE muted_notifications SET recheck_at = now() + interval '60 seconds' WHERE alert_id = $1`, [h.alertId]);
      await release.commitTransaction();
      await changing;
    } finally {
      if (release.isTransactionActive) await release.rollbackTransaction();
      await release.release();
    }
    // Due now: the next tick of any worker delivers it.
    expect(await secondsUntilRecheck(h.alertId)).toBeLessThanOrEqual(0);
  });

  it('a change makes every held notification of the project due, and no other project’s', async () => {
    const [a, b] = [await heldAlert(), await heldAlert()];
    await ds.query(`UPDATE muted_notifications SET recheck_at = now() + interval '60 seconds' WHERE alert_id = ANY($1::bigint[])`, [[a.alertId, b.alertId]]);
    await silences.end(a.t, a.silenceId);
    expect(await secondsUntilRecheck(a.alertId)).toBeLessThanOrEqual(0);
    expect(await secondsUntilRecheck(b.alertId)).toBeGreaterThan(30);
  });
});
