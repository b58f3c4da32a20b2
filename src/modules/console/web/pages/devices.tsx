import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../lib/api';
import { formatAgo, formatNumber, formatTime, intervalFor, matchesDevice, RANGES } from '../lib/format';
import type { Aggregate, Alert, Device, Reading } from '../lib/types';
import { api, devices, devicesError, devicesLoaded, loadDevices, now } from '../state';
import { Chart } from '../ui/chart';
import { Badge, ErrorBox, Link, Loading, PageTitle, useLoad, VirtualList } from '../ui/kit';

export function DevicesPage() {
  useEffect(() => void loadDevices(), []);
  const [text, setText] = useState('');
  const [tag, setTag] = useState('');
  const list = devices.value;
  const t = now.value;
  const shown = useMemo(() => list.filter((d) => matchesDevice(d, text.trim(), tag.trim())), [list, text, tag]);
  return (
    <section>
      <PageTitle actions={<button type="button" onClick={() => void loadDevices()}>Reload</button>}>Devices</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="device-search">Search name or id</label>
          <input id="device-search" type="search" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="device-tag">Tag</label>
          <input id="device-tag" value={tag} onInput={(e) => setTag((e.currentTarget as HTMLInputElement).value)} />
        </div>
      </form>
      <ErrorBox error={devicesError.value} />
      <p class="muted" role="status" data-testid="device-total">
        {formatNumber(shown.length)} of {formatNumber(list.length)} devices{devicesLoaded.value ? '' : ' (loading…)'}
      </p>
      <div class="vhead device-row" aria-hidden="true">
        <span>Name</span>
        <span>External id</span>
        <span>Tags</span>
        <span>Last seen</span>
      </div>
      <VirtualList
        items={shown}
        rowHeight={44}
        height={560}
        label="Devices"
        keyOf={(d) => d.id}
        row={(d: Device) => (
          <div class="device-row">
            <Link to={`/devices/${d.id}`} class="name">
              {d.name}
            </Link>
            <span class="mono">{d.external_id}</span>
            <span class="tags">
              {d.tags.map((tg) => (
                <span class="tag" key={tg}>
                  {tg}
                </span>
              ))}
            </span>
            <span title={formatTime(d.last_seen_at)}>{formatAgo(d.last_seen_at, t)}</span>
          </div>
        )}
      />
    </section>
  );
}

function DeviceChart({ device, metrics }: { device: Device; metrics: string[] }) {
  const [metric, setMetric] = useState(metrics[0] ?? '');
  const [range, setRange] = useState(RANGES[1][1]);
  useEffect(() => {
    if (!metric && metrics[0]) setMetric(metrics[0]);
  }, [metrics.join('|')]);
  const interval = intervalFor(range);
  const [span, setSpan] = useState<[number, number]>([0, 0]);
  const agg = useLoad(
    () => {
      if (!metric) return Promise.resolve(null);
      const to = Date.now();
      setSpan([(to - range) / 1000, to / 1000]);
      return api.get<Aggregate>('/telemetry/aggregate', { metric, device_id: device.id, interval, from: new Date(to - range).toISOString(), to: new Date(to).toISOString() });
    },
    [metric, range, device.id],
  );
  const buckets = agg.data?.buckets ?? [];
  const times = useMemo(() => buckets.map((b) => Date.parse(b.start) / 1000), [buckets]);
  const series = useMemo(
    () => [
      { label: 'avg', values: buckets.map((b) => b.avg) },
      { label: 'min', values: buckets.map((b) => b.min), kind: 'band' as const },
      { label: 'max', values: buckets.map((b) => b.max), kind: 'band' as const },
    ],
    [buckets],
  );
  return (
    <section class="card wide" aria-labelledby="chart-title">
      <h2 id="chart-title">Chart</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="chart-metric">Metric</label>
        <input id="chart-metric" list="chart-metrics" value={metric} onChange={(e) => setMetric((e.currentTarget as HTMLInputElement).value.trim())} />
        <datalist id="chart-metrics">
          {metrics.map((m) => (
            <option key={m} value={m} />
          ))}
        </datalist>
        <label for="chart-range">Range</label>
        <select id="chart-range" value={String(range)} onChange={(e) => setRange(Number((e.currentTarget as HTMLSelectElement).value))}>
          {RANGES.map(([name, ms]) => (
            <option key={ms} value={String(ms)}>
              {name}
            </option>
          ))}
        </select>
        <span class="muted">per {interval}</span>
      </form>
      <ErrorBox error={agg.error} />
      {metric && agg.data && (buckets.length ? <Chart times={times} series={series} xRange={span} label={`${metric} of ${device.name}, ${interval} buckets`} /> : <p class="muted">No readings of {metric} in this range.</p>)}
    </section>
  );
}

export function DevicePage({ id }: { id: number }) {
  const dev = useLoad(() => api.get<Device>(api.project(`/devices/${id}`)), [id]);
  const latest = useLoad(
    () =>
      api.get<Reading>(`/telemetry/devices/${id}/telemetry/latest`).catch((err) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }),
    [id],
  );
  const alerts = useLoad(() => api.page<Alert>(`/devices/${id}/alerts`, { limit: 20 }), [id]);
  const d = dev.data;
  const payload = latest.data?.payload ?? {};
  const metrics = Object.keys(payload).filter((k) => typeof payload[k] === 'number');
  if (dev.loading && !d) return <Loading />;
  if (!d) return <ErrorBox error={dev.error} title="Device" />;
  return (
    <section>
      <PageTitle>{d.name}</PageTitle>
      <p>
        <Link to="/devices">← Devices</Link>
      </p>
      <div class="cards">
        <section class="card">
          <h2>Device</h2>
          <dl class="kv">
            <dt>Id</dt>
            <dd>{d.id}</dd>
            <dt>External id</dt>
            <dd class="mono">{d.external_id}</dd>
            <dt>Tags</dt>
            <dd>
              {d.tags.map((tg) => (
                <span class="tag" key={tg}>
                  {tg}
                </span>
              ))}
            </dd>
            <dt>Created</dt>
            <dd>{formatTime(d.created_at)}</dd>
            <dt>Last seen</dt>
            <dd>
              {formatTime(d.last_seen_at)} ({formatAgo(d.last_seen_at, now.value)})
            </dd>
          </dl>
        </section>
        <section class="card">
          <h2>Latest reading</h2>
          <ErrorBox error={latest.error} />
          {latest.data ? (
            <>
              <p class="muted">{formatTime(latest.data.ts)}</p>
              <pre class="json">{JSON.stringify(latest.data.payload, null, 2).slice(0, 4000)}</pre>
            </>
          ) : (
            !latest.loading && <p class="muted">No readings yet.</p>
          )}
        </section>
        <DeviceChart device={d} metrics={metrics} />
        <section class="card wide">
          <h2>Recent alerts</h2>
          <ErrorBox error={alerts.error} />
          <ul class="plain">
            {(alerts.data?.items ?? []).map((a) => (
              <li key={a.id}>
                <Badge value={a.status} /> <Badge value={a.severity} /> {a.details?.rule?.name ?? `rule ${a.rule_id}`} · {formatTime(a.triggered_at)}
              </li>
            ))}
          </ul>
          {alerts.data && alerts.data.items.length === 0 && <p class="muted">No alerts.</p>}
        </section>
      </div>
    </section>
  );
}
