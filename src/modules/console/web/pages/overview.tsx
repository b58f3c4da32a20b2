import { useEffect, useMemo, useState } from 'preact/hooks';
import { countBySeverity, formatAgo, formatNumber, isSilent, SEVERITIES } from '../lib/format';
import type { Aggregate, Alert, Rule } from '../lib/types';
import { api, devices, devicesError, devicesLoaded, loadDevices, now, onAlertEvent } from '../state';
import { Chart } from '../ui/chart';
import { ErrorBox, Link, Loading, PageTitle, useLoad } from '../ui/kit';

const HOUR = 3_600_000;

/** Open alerts, kept current from the live stream. */
function useOpenAlerts() {
  const loaded = useLoad(() => api.all<Alert>(api.project('/alerts'), { status: 'open', limit: 1000 }, undefined, 10_000), []);
  useEffect(
    () =>
      onAlertEvent(({ alert }) => {
        if (!loaded.data) return;
        const rest = loaded.data.filter((a) => a.id !== alert.id);
        loaded.set(alert.status === 'resolved' ? rest : [alert, ...rest]);
      }),
    [loaded.data],
  );
  return loaded;
}

function ReadingsPerMinute() {
  const rules = useLoad(() => api.page<Rule>(api.project('/rules'), { limit: 50 }), []);
  const firstMetric = rules.data?.items.find((r) => r.metric)?.metric ?? '';
  const [metric, setMetric] = useState('');
  const shown = metric || firstMetric;
  const [span, setSpan] = useState<[number, number]>([0, 0]);
  const agg = useLoad(() => {
    if (!shown) return Promise.resolve(null);
    const to = Date.now();
    setSpan([(to - HOUR) / 1000, to / 1000]);
    return api.get<Aggregate>('/telemetry/aggregate', { metric: shown, interval: '1m', from: new Date(to - HOUR).toISOString(), to: new Date(to).toISOString() });
  }, [shown]);
  const buckets = agg.data?.buckets ?? [];
  const times = useMemo(() => buckets.map((b) => Date.parse(b.start) / 1000), [buckets]);
  const series = useMemo(() => [{ label: 'readings / min', values: buckets.map((b) => b.count) }], [buckets]);
  // The current minute's bucket (still filling), or 0 when nothing arrived in it yet.
  const current = Math.floor(span[1] / 60) * 60;
  const last = buckets.find((b) => Date.parse(b.start) / 1000 === current)?.count ?? 0;
  return (
    <section class="card wide" aria-labelledby="rpm-title">
      <h2 id="rpm-title">Readings per minute</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="rpm-metric">Metric</label>
        <input id="rpm-metric" value={shown} placeholder="temperature" onChange={(e) => setMetric((e.currentTarget as HTMLInputElement).value.trim())} />
      </form>
      {!shown && <p class="muted">Name a metric to count its readings (the API counts readings per metric).</p>}
      <ErrorBox error={agg.error} />
      {shown && agg.data && buckets.length === 0 && <p class="muted">No readings of {shown} in the last hour.</p>}
      {shown && agg.data && buckets.length > 0 && (
        <>
          <p>
            <span class="big" data-testid="rpm-last">
              {formatNumber(last)}
            </span>{' '}
            in the current minute, {formatNumber(buckets.reduce((s, b) => s + b.count, 0))} in the last hour
          </p>
          <Chart times={times} series={series} xRange={span} height={180} label={`Readings of ${shown} per minute over the last hour`} />
        </>
      )}
    </section>
  );
}

export function Overview() {
  useEffect(() => void loadDevices(), []);
  const open = useOpenAlerts();
  const list = devices.value;
  const t = now.value;
  const silent = useMemo(() => list.filter((d) => isSilent(d.last_seen_at, t)), [list, t]);
  const counts = countBySeverity(open.data ?? []);
  return (
    <section>
      <PageTitle>Overview</PageTitle>
      <div class="cards">
        <section class="card" aria-labelledby="dev-title">
          <h2 id="dev-title">Devices</h2>
          <p class="big" data-testid="device-count">
            {formatNumber(list.length)}
            {!devicesLoaded.value && <span class="muted small"> loading…</span>}
          </p>
          <ErrorBox error={devicesError.value} />
          <Link to="/devices">All devices</Link>
        </section>
        <section class="card" aria-labelledby="silent-title">
          <h2 id="silent-title">Silent devices</h2>
          <p class="big" data-testid="silent-count">
            {formatNumber(silent.length)}
          </p>
          <p class="muted small">no reading in 15 minutes</p>
          <ul class="plain">
            {silent.slice(0, 5).map((d) => (
              <li key={d.id}>
                <Link to={`/devices/${d.id}`}>{d.name}</Link> <span class="muted">{formatAgo(d.last_seen_at, t)}</span>
              </li>
            ))}
          </ul>
        </section>
        <section class="card" aria-labelledby="open-title">
          <h2 id="open-title">Open alerts</h2>
          {open.loading && !open.data ? <Loading /> : <ErrorBox error={open.error} />}
          <ul class="plain severities" data-testid="open-by-severity" data-loaded={open.data ? 'true' : 'false'}>
            {SEVERITIES.map((s) => (
              <li key={s}>
                <span class={`badge badge-${s}`}>{s}</span> <span class="big">{formatNumber(counts[s])}</span>
              </li>
            ))}
          </ul>
          <Link to="/alerts">All alerts</Link>
        </section>
        <ReadingsPerMinute />
      </div>
    </section>
  );
}
