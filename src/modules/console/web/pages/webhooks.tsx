import { useEffect, useState } from 'preact/hooks';
import { formatTime } from '../lib/format';
import type { Circuit, Delivery, Webhook } from '../lib/types';
import { api, navigate } from '../state';
import { ActionButton, Badge, CheckField, ErrorBox, FormError, Link, Loading, PageTitle, TextField, useForm, useLoad } from '../ui/kit';

export function WebhooksPage() {
  const hooks = useLoad(() => api.all<Webhook>(api.project('/webhooks'), { limit: 1000 }), []);
  return (
    <section>
      <PageTitle
        actions={
          <Link to="/webhooks/new" class="button primary">
            New webhook
          </Link>
        }
      >
        Webhooks
      </PageTitle>
      <ErrorBox error={hooks.error} />
      {hooks.loading && !hooks.data && <Loading />}
      <ul class="plain cards-list">
        {(hooks.data ?? []).map((w) => (
          <li key={w.id} class="card" data-webhook-id={w.id}>
            <Link to={`/webhooks/${w.id}`} class="mono url">
              {w.url}
            </Link>
            <div>
              <Badge value={w.enabled ? 'enabled' : 'disabled'} /> {w.disabled_reason && <span class="muted">{w.disabled_reason}</span>}{' '}
              <span class="muted">events: {w.event_types.join(', ') || 'all'}</span>
            </div>
          </li>
        ))}
      </ul>
      {hooks.data && hooks.data.length === 0 && <p class="muted">No webhooks yet.</p>}
    </section>
  );
}

export function WebhookPage({ id }: { id: number | 'new' }) {
  return id === 'new' ? <NewWebhook /> : <WebhookDetail id={id} />;
}

const num = (v: string): number | string | null => (v.trim() === '' ? null : Number.isFinite(Number(v)) ? Number(v) : v);

function NewWebhook() {
  const form = useForm({ url: '', secret: '', triggered: true, resolved: true, rate_limit_per_second: '' }, ['url', 'secret', 'event_types', 'rate_limit_per_second']);
  const [created, setCreated] = useState<Webhook | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const v = form.values;
      const body: Record<string, unknown> = { url: v.url, event_types: [...(v.triggered ? ['alert.triggered'] : []), ...(v.resolved ? ['alert.resolved'] : [])] };
      if (v.secret) body.secret = v.secret;
      if (v.rate_limit_per_second.trim()) body.rate_limit_per_second = num(v.rate_limit_per_second);
      setCreated(await api.post<Webhook>(api.project('/webhooks'), body));
    });
  };
  if (created)
    return (
      <section>
        <PageTitle>Webhook created</PageTitle>
        <p>Copy the signing secret now: it is not shown again.</p>
        <p>
          <code class="secret" data-testid="webhook-secret">
            {created.secret}
          </code>
        </p>
        <button type="button" class="primary" onClick={() => navigate(`/webhooks/${created.id}`, true)}>
          Open the webhook
        </button>
      </section>
    );
  return (
    <section>
      <PageTitle>New webhook</PageTitle>
      <form class="form" onSubmit={submit} novalidate aria-label="New webhook">
        <TextField form={form} name="url" label="URL" type="url" required />
        <TextField form={form} name="secret" label="Secret (optional: one is generated)" type="password" />
        <fieldset>
          <legend>Events</legend>
          <CheckField form={form} name="triggered" label="alert.triggered" />
          <CheckField form={form} name="resolved" label="alert.resolved" />
        </fieldset>
        <TextField form={form} name="rate_limit_per_second" label="Rate limit (deliveries per second)" inputMode="numeric" hint="empty: unlimited" />
        <FormError form={form} />
        <button type="submit" class="primary" disabled={form.busy}>
          Create webhook
        </button>
      </form>
    </section>
  );
}

function CircuitPanel({ id, onReset }: { id: number; onReset: () => void }) {
  const c = useLoad(() => api.get<Circuit>(`/webhooks/${id}/circuit-status`), [id]);
  useEffect(() => {
    const t = setInterval(c.reload, 5000);
    return () => clearInterval(t);
  }, [id]);
  const cb = c.data?.circuit_breaker;
  return (
    <section class="card" aria-labelledby="circuit-title">
      <h2 id="circuit-title">Circuit breaker</h2>
      <ErrorBox error={c.error} />
      {cb && (
        <>
          <p data-testid="circuit-state">
            <Badge value={cb.state} kind={`circuit-${cb.state}`} /> {cb.failures} consecutive failures
          </p>
          {cb.opened_at && <p class="muted">opened {formatTime(cb.opened_at)}</p>}
          {cb.next_attempt_at && <p class="muted">next probe {formatTime(cb.next_attempt_at)}</p>}
          <ActionButton
            label="Reset circuit"
            run={() => api.post(`/webhooks/${id}/circuit/reset`)}
            onDone={() => {
              c.reload();
              onReset();
            }}
            disabled={cb.state === 'closed'}
          />
        </>
      )}
    </section>
  );
}

const UNFINISHED = new Set(['pending', 'sending', 'retrying']);
const POLL_MS = 5000;

function DeliveryRow({ d, onChanged }: { d: Delivery; onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  const [detail, setDetail] = useState<Delivery | null>(null);
  const [error, setError] = useState<unknown>(null);
  const readDetail = async () => {
    try {
      setDetail(await api.get<Delivery>(`/webhook-deliveries/${d.id}`));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };
  // The list is the source of the delivery's state; an open attempt log follows its changes.
  useEffect(() => {
    if (open) void readDetail();
    else setDetail(null);
  }, [d.status, d.attempts]);
  const toggle = () => {
    setOpen(!open);
    if (!open) void readDetail();
  };
  return (
    <li class="delivery" data-delivery-id={d.id} data-status={d.status} data-attempts={d.attempts}>
      <div class="delivery-main">
        <button type="button" class="link" aria-expanded={open} onClick={toggle}>
          #{d.id} {d.event}
        </button>{' '}
        <Badge value={d.status} /> <span class="muted">attempts {d.attempts}</span>
        {d.last_status_code !== null && <span class="muted"> · last HTTP {d.last_status_code}</span>}
        {d.last_error && <span class="muted"> · {d.last_error}</span>}
        <span class="muted"> · {formatTime(d.created_at)}</span>
        {d.status === 'failed' && <ActionButton label="Retry" run={() => api.post<Delivery>(`/webhook-deliveries/${d.id}/retry`)} onDone={onChanged} />}
      </div>
      {open && (
        <div class="attempts">
          <ErrorBox error={error} />
          {detail?.attempt_log && (
            <table>
              <caption class="sr-only">Attempts of delivery {d.id}</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">At</th>
                  <th scope="col">HTTP</th>
                  <th scope="col">Error</th>
                  <th scope="col">ms</th>
                </tr>
              </thead>
              <tbody>
                {detail.attempt_log.map((a) => (
                  <tr key={a.attempt}>
                    <td>{a.attempt}</td>
                    <td>{formatTime(a.at)}</td>
                    <td>{a.status_code ?? '—'}</td>
                    <td>{a.error ?? ''}</td>
                    <td>{a.duration_ms}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {d.next_attempt_at && UNFINISHED.has(d.status) && <p class="muted">next attempt {formatTime(d.next_attempt_at)}</p>}
        </div>
      )}
    </li>
  );
}

/**
 * Deliveries of one webhook: the API lists the project's, so pages are filtered here. Read
 * again when `tick` changes (a test sent, a retry, a circuit reset) and, while one of them is
 * still on its way and the tab is visible, every few seconds.
 */
function Deliveries({ id, tick, onChanged }: { id: number; tick: number; onChanged: () => void }) {
  const [status, setStatus] = useState('');
  const list = useLoad(async () => {
    const all = await api.all<Delivery>(api.project('/webhook-deliveries'), { status: status || undefined, limit: 1000 }, undefined, 5000);
    return all.filter((d) => d.webhook_id === id).slice(0, 200);
  }, [id, status, tick]);
  const unfinished = (list.data ?? []).some((d) => UNFINISHED.has(d.status));
  useEffect(() => {
    if (!unfinished || list.loading) return;
    const t = setTimeout(() => {
      if (document.visibilityState === 'visible') list.reload();
    }, POLL_MS);
    return () => clearTimeout(t);
  }, [unfinished, list.loading, list.data]);
  return (
    <section class="card wide" aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="d-status">Status</label>
        <select id="d-status" value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)}>
          {['', 'pending', 'sending', 'retrying', 'success', 'failed'].map((s) => (
            <option key={s} value={s}>
              {s || 'any'}
            </option>
          ))}
        </select>
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      <ul class="plain" aria-label="Deliveries" data-testid="deliveries">
        {(list.data ?? []).map((d) => (
          <DeliveryRow d={d} key={d.id} onChanged={onChanged} />
        ))}
      </ul>
      {list.data && list.data.length === 0 && <p class="muted">No deliveries.</p>}
    </section>
  );
}

function RotateSecret({ id }: { id: number }) {
  const form = useForm({ secret: '', grace_seconds: '86400' }, ['secret', 'grace_seconds']);
  const [result, setResult] = useState<{ secret: string; previous_secret_expires_at: string | null } | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const body: Record<string, unknown> = { grace_seconds: num(form.values.grace_seconds) ?? undefined };
      if (form.values.secret) body.secret = form.values.secret;
      setResult(await api.post(`/webhooks/${id}/rotate-secret`, body));
    });
  };
  return (
    <section class="card" aria-labelledby="rotate-title">
      <h2 id="rotate-title">Rotate secret</h2>
      <form onSubmit={submit} novalidate>
        <TextField form={form} name="secret" label="New secret (optional: one is generated)" type="password" />
        <TextField form={form} name="grace_seconds" label="Old secret stays valid for (seconds)" inputMode="numeric" />
        <FormError form={form} />
        <button type="submit" disabled={form.busy}>
          Rotate
        </button>
      </form>
      {result && (
        <p role="status">
          New secret (shown once): <code class="secret" data-testid="rotated-secret">{result.secret}</code>
          <br />
          <span class="muted">previous secret valid until {formatTime(result.previous_secret_expires_at)}</span>
        </p>
      )}
    </section>
  );
}

function Settings({ hook, onSaved, onSent }: { hook: Webhook; onSaved: (w: Webhook) => void; onSent: () => void }) {
  const [sent, setSent] = useState<Delivery | null>(null);
  const form = useForm(
    {
      url: hook.url,
      triggered: hook.event_types.includes('alert.triggered') || hook.event_types.length === 0,
      resolved: hook.event_types.includes('alert.resolved') || hook.event_types.length === 0,
      rate_limit_per_second: hook.rate_limit_per_second == null ? '' : String(hook.rate_limit_per_second),
    },
    ['url', 'event_types', 'rate_limit_per_second'],
  );
  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const v = form.values;
      const body: Record<string, unknown> = {
        url: v.url,
        event_types: [...(v.triggered ? ['alert.triggered'] : []), ...(v.resolved ? ['alert.resolved'] : [])],
        rate_limit_per_second: num(v.rate_limit_per_second),
      };
      onSaved(await api.patch<Webhook>(`/webhooks/${hook.id}`, body));
    });
  };
  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form onSubmit={submit} novalidate>
        <TextField form={form} name="url" label="URL" type="url" />
        <fieldset>
          <legend>Events</legend>
          <CheckField form={form} name="triggered" label="alert.triggered" />
          <CheckField form={form} name="resolved" label="alert.resolved" />
        </fieldset>
        <TextField form={form} name="rate_limit_per_second" label="Rate limit (per second)" inputMode="numeric" hint="empty: unlimited" />
        <FormError form={form} />
        <button type="submit" disabled={form.busy}>
          Save
        </button>
      </form>
      <div class="buttons">
        <ActionButton label={hook.enabled ? 'Disable' : 'Enable'} run={async () => onSaved(await api.post<Webhook>(`/webhooks/${hook.id}/${hook.enabled ? 'disable' : 'enable'}`))} />
        <ActionButton
          label="Send test"
          run={async () => {
            setSent(await api.post<Delivery>(`/webhooks/${hook.id}/test`));
            onSent();
          }}
        />
        <ActionButton
          label="Delete"
          class="danger"
          confirm="Delete this webhook?"
          run={async () => {
            await api.delete(`/webhooks/${hook.id}`);
            navigate('/webhooks');
          }}
        />
      </div>
      {sent && (
        <p class="muted" role="status">
          Test delivery #{sent.id} queued; it appears under Deliveries.
        </p>
      )}
    </section>
  );
}

function WebhookDetail({ id }: { id: number }) {
  const hook = useLoad(() => api.get<Webhook>(`/webhooks/${id}`), [id]);
  const [tick, setTick] = useState(0);
  const deliveriesChanged = () => setTick((t) => t + 1);
  if (hook.loading && !hook.data) return <Loading />;
  if (!hook.data) return <ErrorBox error={hook.error} title="Webhook" />;
  const w = hook.data;
  return (
    <section>
      <PageTitle>Webhook {w.id}</PageTitle>
      <p>
        <Link to="/webhooks">← Webhooks</Link>
      </p>
      <p class="mono url">{w.url}</p>
      <p>
        <Badge value={w.enabled ? 'enabled' : 'disabled'} /> {w.disabled_reason && <span class="muted">{w.disabled_reason}</span>}
      </p>
      <div class="cards">
        <CircuitPanel id={id} onReset={deliveriesChanged} />
        <Settings hook={w} onSaved={hook.set} onSent={deliveriesChanged} key={w.updated_at} />
        <RotateSecret id={id} />
        <Deliveries id={id} tick={tick} onChanged={deliveriesChanged} />
      </div>
    </section>
  );
}
