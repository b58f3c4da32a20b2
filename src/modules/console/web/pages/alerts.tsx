import { useEffect, useMemo, useState } from 'preact/hooks';
import { formatTime, upsertAlert } from '../lib/format';
import type { Alert } from '../lib/types';
import { api, devices, ensureDevice, loadDevices, navigate, onAlertEvent, streamDetail, streamState } from '../state';
import { ActionButton, Badge, ErrorBox, Link, Loading, PageTitle } from '../ui/kit';

const STATUSES: [string, string][] = [
  ['open', 'Open (firing or acknowledged)'],
  ['firing', 'Firing'],
  ['acknowledged', 'Acknowledged'],
  ['resolved', 'Resolved'],
  ['', 'All'],
];

interface Filter {
  status: string;
  severity: string;
  device_id: string;
  rule_id: string;
}

function matches(a: Alert, f: Filter): boolean {
  if (f.status === 'open' && a.status === 'resolved') return false;
  if (f.status && f.status !== 'open' && a.status !== f.status) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.device_id && String(a.device_id) !== f.device_id.trim()) return false;
  if (f.rule_id && String(a.rule_id) !== f.rule_id.trim()) return false;
  return true;
}

export function AlertsPage() {
  const [filter, setFilter] = useState<Filter>({ status: 'open', severity: '', device_id: '', rule_id: '' });
  const [items, setItems] = useState<Alert[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const names = useMemo(() => new Map(devices.value.map((d) => [d.id, d.name])), [devices.value]);

  const query = (c: string | null) => ({
    status: filter.status || undefined,
    device_id: /^\d+$/.test(filter.device_id.trim()) ? filter.device_id.trim() : undefined,
    rule_id: /^\d+$/.test(filter.rule_id.trim()) ? filter.rule_id.trim() : undefined,
    limit: 100,
    cursor: c,
  });

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    api.page<Alert>(api.project('/alerts'), query(null)).then(
      (p) => {
        if (!live) return;
        setItems(p.items);
        setCursor(p.nextCursor);
        setLoading(false);
        // Device names come after the first rows are on screen, not in their way.
        void loadDevices();
      },
      (err) => {
        if (!live) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [filter.status, filter.device_id, filter.rule_id]);

  useEffect(
    () =>
      onAlertEvent(({ alert }) => {
        setItems((list) => (matches(alert, filter) ? upsertAlert(list, alert) : list.filter((a) => a.id !== alert.id)));
        setFresh((s) => new Set(s).add(alert.id));
      }),
    [filter],
  );

  const more = async () => {
    try {
      const p = await api.page<Alert>(api.project('/alerts'), query(cursor));
      setItems((list) => [...list, ...p.items.filter((a) => !list.some((b) => b.id === a.id))]);
      setCursor(p.nextCursor);
    } catch (err) {
      setError(err);
    }
  };

  const replace = (a: Alert) => setItems((list) => (matches(a, filter) ? list.map((b) => (b.id === a.id ? a : b)) : list.filter((b) => b.id !== a.id)));
  const shown = items.filter((a) => matches(a, filter));
  useEffect(() => {
    for (const a of shown) if (!names.has(a.device_id)) ensureDevice(a.device_id);
  }, [shown, names]);
  const set = (k: keyof Filter) => (e: Event) => setFilter((f) => ({ ...f, [k]: (e.currentTarget as HTMLInputElement).value }));

  return (
    <section>
      <PageTitle>Alerts</PageTitle>
      {streamState.value !== 'open' && (
        <p class="warn-box" role="status" data-testid="stream-warning">
          Live updates are {streamState.value === 'connecting' ? 'connecting' : 'disconnected'}
          {streamDetail.value ? `: ${streamDetail.value}` : ''}. The list below may be out of date.
        </p>
      )}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Alert filters">
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={filter.status} onChange={set('status')}>
            {STATUSES.map(([v, t]) => (
              <option key={v} value={v}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-severity">Severity</label>
          <select id="f-severity" value={filter.severity} onChange={set('severity')}>
            <option value="">Any</option>
            <option value="critical">critical</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </div>
        <div class="field">
          <label for="f-device">Device id</label>
          <input id="f-device" inputMode="numeric" value={filter.device_id} onChange={set('device_id')} />
        </div>
        <div class="field">
          <label for="f-rule">Rule id</label>
          <input id="f-rule" inputMode="numeric" value={filter.rule_id} onChange={set('rule_id')} />
        </div>
      </form>
      <ErrorBox error={error} />
      {loading && <Loading />}
      <ul class="alert-list" aria-label="Alerts" aria-live="polite" data-testid="alert-list">
        {shown.map((a) => (
          <li key={a.id} class={`alert-row ${fresh.has(a.id) ? "fresh" : ""}`} data-alert-id={a.id} data-device-id={a.device_id} data-status={a.status}>
            <div class="alert-main">
              <Badge value={a.severity} /> <Badge value={a.status} kind={a.status} />
              {a.silenced_by && a.silenced_by.length > 0 && <Badge value={`silenced by ${a.silenced_by.join(', ')}`} kind="silenced" />}
              <strong class="rule-name">{a.details?.rule?.name ?? `rule ${a.rule_id}`}</strong>
              <span>
                on <Link to={`/devices/${a.device_id}`}>{names.get(a.device_id) ?? `device ${a.device_id}`}</Link>
              </span>
            </div>
            <div class="alert-meta muted">
              #{a.id} · triggered {formatTime(a.triggered_at)}
              {a.acknowledged_at && ` · acknowledged ${formatTime(a.acknowledged_at)}`}
              {a.resolved_at && ` · resolved ${formatTime(a.resolved_at)}`}
              {a.details?.evaluation?.latest_value !== undefined && ` · latest value ${String(a.details.evaluation.latest_value)}`}
            </div>
            <div class="alert-actions">
              {a.status === 'firing' && <ActionButton label="Acknowledge" run={async () => replace(await api.post<Alert>(`/alerts/${a.id}/ack`))} />}
              {a.status !== 'resolved' && <ActionButton label="Resolve" run={async () => replace(await api.post<Alert>(`/alerts/${a.id}/resolve`))} />}
              <button type="button" onClick={() => navigate(`/silences/new?rule_id=${a.rule_id}&device_id=${a.device_id}`)}>
                Silence…
              </button>
            </div>
          </li>
        ))}
      </ul>
      {!loading && shown.length === 0 && <p class="muted">No alerts match.</p>}
      {cursor && (
        <button type="button" onClick={() => void more()}>
          Load more
        </button>
      )}
    </section>
  );
}
