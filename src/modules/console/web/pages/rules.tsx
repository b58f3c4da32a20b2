import { formatTime } from '../lib/format';
import type { Rule } from '../lib/types';
import { api, navigate } from '../state';
import { ActionButton, Badge, CheckField, ErrorBox, FormError, Link, Loading, PageTitle, SelectField, TextField, useForm, useLoad } from '../ui/kit';

export function RulesPage() {
  const rules = useLoad(() => api.all<Rule>(api.project('/rules'), { limit: 1000 }, undefined, 5000), []);
  const toggle = async (r: Rule) => {
    const updated = await api.patch<Rule>(`/rules/${r.id}`, { enabled: !r.enabled });
    rules.set((rules.data ?? []).map((x) => (x.id === r.id ? updated : x)));
  };
  return (
    <section>
      <PageTitle
        actions={
          <Link to="/rules/new" class="button primary">
            New rule
          </Link>
        }
      >
        Rules
      </PageTitle>
      <ErrorBox error={rules.error} />
      {rules.loading && !rules.data && <Loading />}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Condition</th>
              <th scope="col">Scope</th>
              <th scope="col">Severity</th>
              <th scope="col">Enabled</th>
            </tr>
          </thead>
          <tbody>
            {(rules.data ?? []).map((r) => (
              <tr key={r.id} data-rule-id={r.id}>
                <td>
                  <Link to={`/rules/${r.id}`}>{r.name}</Link>
                </td>
                <td>{r.type ?? 'threshold'}</td>
                <td class="mono">{describeCondition(r)}</td>
                <td>
                  {r.scope}
                  {r.tag ? `: ${r.tag}` : ''}
                </td>
                <td>
                  <Badge value={r.severity} />
                </td>
                <td>
                  <ActionButton label={r.enabled ? 'Disable' : 'Enable'} run={() => toggle(r)} />
                  <span class="sr-only">{r.enabled ? ' (enabled)' : ' (disabled)'}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rules.data && rules.data.length === 0 && <p class="muted">No rules yet.</p>}
    </section>
  );
}

export function describeCondition(r: Rule): string {
  if (r.type === 'no_data') return `no ${r.metric ?? 'reading'} for ${r.no_data_seconds} s`;
  let s = `${r.required_k} of ${r.window_n}: ${r.metric} ${r.operator} ${r.threshold}`;
  if (r.for_seconds) s += ` for ${r.for_seconds} s`;
  if (r.clear_threshold !== null && r.clear_threshold !== undefined) s += `, clears past ${r.clear_threshold}`;
  return s;
}

const FIELDS = ['type', 'name', 'metric', 'operator', 'threshold', 'window_n', 'required_k', 'for_seconds', 'clear_threshold', 'no_data_seconds', 'cooldown_seconds', 'scope', 'tag', 'severity', 'enabled'] as const;

type RuleForm = Record<Exclude<(typeof FIELDS)[number], 'enabled'>, string> & { enabled: boolean };

const blank: RuleForm = {
  type: 'threshold',
  name: '',
  metric: '',
  operator: '>',
  threshold: '',
  window_n: '1',
  required_k: '1',
  for_seconds: '',
  clear_threshold: '',
  no_data_seconds: '',
  cooldown_seconds: '300',
  scope: 'ALL',
  tag: '',
  severity: 'warning',
  enabled: true,
};

const str = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : String(v));

function fromRule(r: Rule): RuleForm {
  return {
    type: r.type ?? 'threshold',
    name: r.name,
    metric: str(r.metric),
    operator: r.operator ?? '>',
    threshold: str(r.threshold),
    window_n: str(r.window_n),
    required_k: str(r.required_k),
    for_seconds: str(r.for_seconds),
    clear_threshold: str(r.clear_threshold),
    no_data_seconds: str(r.no_data_seconds),
    cooldown_seconds: str(r.cooldown_seconds),
    scope: r.scope,
    tag: str(r.tag),
    severity: r.severity,
    enabled: r.enabled,
  };
}

/**
 * A number field as typed: empty is left out (the API's default, or its "required" message),
 * a number is sent as one, anything else is sent as typed so the API names the field.
 */
const num = (v: string): number | string | undefined => (v.trim() === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : v);

/** The body the API receives: only the fields of the chosen type. */
export function ruleBody(f: RuleForm, editing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: f.type,
    name: f.name,
    cooldown_seconds: num(f.cooldown_seconds),
    scope: f.scope,
    tag: f.scope === 'TAG' ? f.tag : null,
    severity: f.severity,
    enabled: f.enabled,
  };
  if (f.type === 'no_data') {
    body.metric = f.metric.trim() === '' ? null : f.metric;
    body.no_data_seconds = num(f.no_data_seconds);
    // PATCH merges into the stored rule: a threshold rule turned no-data must clear these.
    if (editing) Object.assign(body, { operator: null, threshold: null, window_n: null, required_k: null, for_seconds: null, clear_threshold: null });
  } else {
    if (editing) body.no_data_seconds = null;
    Object.assign(body, {
      metric: f.metric,
      operator: f.operator,
      threshold: num(f.threshold),
      window_n: num(f.window_n),
      required_k: num(f.required_k),
      for_seconds: f.for_seconds.trim() === '' && editing ? 0 : num(f.for_seconds),
      clear_threshold: f.clear_threshold.trim() === '' ? (editing ? null : undefined) : num(f.clear_threshold),
    });
  }
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}

export function RuleFormPage({ id }: { id: number | 'new' }) {
  const existing = useLoad(() => (id === 'new' ? Promise.resolve(null) : api.get<Rule>(`/rules/${id}`)), [id]);
  if (existing.loading) return <Loading />;
  if (existing.error) return <ErrorBox error={existing.error} title="Rule" />;
  return <RuleEditor rule={existing.data ?? null} key={String(id)} />;
}

function RuleEditor({ rule }: { rule: Rule | null }) {
  const form = useForm<RuleForm>(rule ? fromRule(rule) : blank, FIELDS);
  const v = form.values;
  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const body = ruleBody(v, rule !== null);
      const saved = rule ? await api.patch<Rule>(`/rules/${rule.id}`, body) : await api.post<Rule>(api.project('/rules'), body);
      navigate(`/rules/${saved.id}`, !rule);
      if (rule) form.setValues(fromRule(saved));
    });
  };
  return (
    <section>
      <PageTitle>{rule ? `Rule: ${rule.name}` : 'New rule'}</PageTitle>
      <p>
        <Link to="/rules">← Rules</Link>
      </p>
      <form class="form" onSubmit={submit} novalidate aria-label={rule ? 'Edit rule' : 'New rule'}>
        <div class="grid">
          <SelectField form={form} name="type" label="Type" options={[['threshold', 'threshold (k of n readings)'], ['no_data', 'no data (silence for a time)']]} />
          <TextField form={form} name="name" label="Name" required />
          <TextField form={form} name="metric" label="Metric" hint={v.type === 'no_data' ? 'empty: any reading' : undefined} />
          {v.type === 'threshold' ? (
            <>
              <SelectField form={form} name="operator" label="Operator" options={['>', '>=', '<', '<=']} />
              <TextField form={form} name="threshold" label="Threshold" inputMode="decimal" />
              <TextField form={form} name="window_n" label="Window (n readings)" inputMode="numeric" />
              <TextField form={form} name="required_k" label="Required matches (k)" inputMode="numeric" />
              <TextField form={form} name="for_seconds" label="Hold for (seconds)" inputMode="numeric" hint="0 or empty: open at once" />
              <TextField form={form} name="clear_threshold" label="Clear threshold" inputMode="decimal" hint="empty: resolves when the condition stops holding" />
            </>
          ) : (
            <TextField form={form} name="no_data_seconds" label="Silent for (seconds)" inputMode="numeric" hint="5 to 604800" />
          )}
          <TextField form={form} name="cooldown_seconds" label="Cooldown (seconds)" inputMode="numeric" />
          <SelectField form={form} name="scope" label="Scope" options={[['ALL', 'all devices'], ['TAG', 'devices with a tag'], ['EXPLICIT', 'assigned devices']]} />
          {v.scope === 'TAG' && <TextField form={form} name="tag" label="Tag" />}
          <SelectField form={form} name="severity" label="Severity" options={['info', 'warning', 'critical']} />
          <CheckField form={form} name="enabled" label="Enabled" />
        </div>
        <FormError form={form} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy}>
            {rule ? 'Save' : 'Create rule'}
          </button>
          {rule && (
            <ActionButton
              label="Delete"
              class="danger"
              confirm={`Delete rule "${rule.name}"?`}
              run={async () => {
                await api.delete(`/rules/${rule.id}`);
                navigate('/rules');
              }}
            />
          )}
        </div>
        {rule && (
          <p class="muted small">
            Created {formatTime(rule.created_at)}, updated {formatTime(rule.updated_at)}
          </p>
        )}
      </form>
    </section>
  );
}
