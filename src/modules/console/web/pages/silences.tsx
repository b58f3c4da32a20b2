import { useState } from 'preact/hooks';
import { ApiError } from '../lib/api';
import { formatTime, localInputToIso, parseIds, splitList } from '../lib/format';
import type { Silence } from '../lib/types';
import { api, navigate } from '../state';
import { ActionButton, Badge, CheckField, ErrorBox, FormError, GroupError, Link, Loading, PageTitle, SelectField, TextField, useForm, useLoad } from '../ui/kit';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

function describeMatchers(m: Silence['matchers']): string {
  const parts: string[] = [];
  if (m.rule_ids?.length) parts.push(`rules ${m.rule_ids.join(', ')}`);
  if (m.device_ids?.length) parts.push(`devices ${m.device_ids.join(', ')}`);
  if (m.tags?.length) parts.push(`tags ${m.tags.join(', ')}`);
  if (m.severities?.length) parts.push(`severities ${m.severities.join(', ')}`);
  return parts.join('; ');
}

export function SilencesPage() {
  const [state, setState] = useState('');
  const list = useLoad(() => api.all<Silence>(api.project('/silences'), { state: state || undefined, limit: 1000 }, undefined, 5000), [state]);
  return (
    <section>
      <PageTitle
        actions={
          <Link to="/silences/new" class="button primary">
            New silence
          </Link>
        }
      >
        Silences
      </PageTitle>
      <form class="inline" onSubmit={(e) => e.preventDefault()}>
        <label for="s-state">State</label>
        <select id="s-state" value={state} onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value)}>
          {['', 'pending', 'active', 'expired'].map((s) => (
            <option key={s} value={s}>
              {s || 'any'}
            </option>
          ))}
        </select>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      <ul class="plain cards-list">
        {(list.data ?? []).map((s) => (
          <li key={s.id} class="card" data-silence-id={s.id}>
            <div>
              <Badge value={s.state} /> <strong>#{s.id}</strong> {describeMatchers(s.matchers)}
            </div>
            <div class="muted">
              {s.recurrence
                ? `every ${s.recurrence.days.join(', ')} at ${s.recurrence.start} for ${s.recurrence.duration_minutes} min (${s.recurrence.timezone})`
                : `${formatTime(s.starts_at)} → ${formatTime(s.ends_at)}`}
              {s.comment && ` · ${s.comment}`}
              {s.created_by && ` · by ${s.created_by}`}
            </div>
            {s.state !== 'expired' && <ActionButton label="End now" confirm="End this silence now?" run={() => api.delete(`/silences/${s.id}`)} onDone={list.reload} />}
          </li>
        ))}
      </ul>
      {list.data && list.data.length === 0 && <p class="muted">No silences.</p>}
    </section>
  );
}

const FIELDS = ['matchers', 'rule_ids', 'device_ids', 'tags', 'severities', 'starts_at', 'ends_at', 'recurrence', 'days', 'start', 'duration_minutes', 'timezone', 'comment', 'created_by'];

function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC'];
}

/** The silence body from the form; ids that are not ids are a field error before any request. */
function silenceBody(v: Record<string, string | boolean>): Record<string, unknown> {
  const problems: { field: string; message: string }[] = [];
  const ids = (name: string) => {
    const text = String(v[name]);
    if (!text.trim()) return undefined;
    const parsed = parseIds(text);
    if (!parsed) problems.push({ field: name, message: `${name} must be comma-separated ids` });
    return parsed ?? undefined;
  };
  const matchers: Record<string, unknown> = {};
  const ruleIds = ids('rule_ids');
  const deviceIds = ids('device_ids');
  if (ruleIds) matchers.rule_ids = ruleIds;
  if (deviceIds) matchers.device_ids = deviceIds;
  const tags = splitList(String(v.tags));
  if (tags.length) matchers.tags = tags;
  const severities = ['info', 'warning', 'critical'].filter((s) => v[`sev_${s}`]);
  if (severities.length) matchers.severities = severities;
  if (problems.length) throw new ApiError(422, 'CONSOLE.INVALID', problems.map((p) => p.message).join('; '), problems);
  const body: Record<string, unknown> = { matchers };
  const starts = localInputToIso(String(v.starts_at));
  const ends = localInputToIso(String(v.ends_at));
  if (starts) body.starts_at = starts;
  if (ends) body.ends_at = ends;
  if (v.recurring) {
    body.recurrence = {
      days: DAYS.filter((d) => v[`day_${d}`]),
      start: v.start,
      duration_minutes: Number.isFinite(Number(v.duration_minutes)) && String(v.duration_minutes).trim() !== '' ? Number(v.duration_minutes) : v.duration_minutes,
      timezone: v.timezone,
    };
  }
  if (String(v.comment).trim()) body.comment = v.comment;
  if (String(v.created_by).trim()) body.created_by = v.created_by;
  return body;
}

export function SilenceNewPage() {
  const params = new URLSearchParams(location.search);
  const initial: Record<string, string | boolean> = {
    rule_ids: params.get('rule_id') ?? '',
    device_ids: params.get('device_id') ?? '',
    tags: '',
    sev_info: false,
    sev_warning: false,
    sev_critical: false,
    starts_at: '',
    ends_at: '',
    recurring: false,
    start: '22:00',
    duration_minutes: '60',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    comment: '',
    created_by: '',
    ...Object.fromEntries(DAYS.map((d) => [`day_${d}`, false])),
  };
  const form = useForm(initial, FIELDS);
  const [preview, setPreview] = useState<{ rule_ids: number[]; device_ids: number[]; open_alert_ids: number[] } | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const v = form.values;
  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      await api.post<Silence>(api.project('/silences'), silenceBody(v));
      navigate('/silences');
    });
  };
  const runPreview = async () => {
    setPreviewError(null);
    try {
      setPreview(await api.post(api.project('/silences/preview'), silenceBody(v)));
    } catch (err) {
      setPreviewError(err);
    }
  };
  const zones = timeZones();
  return (
    <section>
      <PageTitle>New silence</PageTitle>
      <p>
        <Link to="/silences">← Silences</Link>
      </p>
      <form class="form" onSubmit={submit} novalidate aria-label="New silence">
        <fieldset>
          <legend>Matches (every field given must match)</legend>
          <GroupError form={form} name="matchers" />
          <TextField form={form} name="rule_ids" label="Rule ids" hint="comma-separated" />
          <TextField form={form} name="device_ids" label="Device ids" hint="comma-separated" />
          <TextField form={form} name="tags" label="Device tags" hint="comma-separated; a device carrying any one matches" />
          <div class="checks">
            <CheckField form={form} name="sev_critical" label="critical" />
            <CheckField form={form} name="sev_warning" label="warning" />
            <CheckField form={form} name="sev_info" label="info" />
          </div>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <TextField form={form} name="starts_at" label="Starts (your local time)" type="datetime-local" hint="empty: now" />
          <TextField form={form} name="ends_at" label="Ends (your local time)" type="datetime-local" />
          <CheckField form={form} name="recurring" label="Recurring window" />
          {v.recurring && (
            <>
              <GroupError form={form} name="recurrence" />
              <div class="checks" role="group" aria-label="Days">
                {DAYS.map((d) => (
                  <CheckField key={d} form={form} name={`day_${d}`} label={d} />
                ))}
              </div>
              <GroupError form={form} name="days" />
              <TextField form={form} name="start" label="Start (HH:MM)" type="time" />
              <TextField form={form} name="duration_minutes" label="Duration (minutes)" inputMode="numeric" />
              <SelectField form={form} name="timezone" label="Time zone" options={zones.includes(String(v.timezone)) ? zones : [String(v.timezone), ...zones]} />
            </>
          )}
        </fieldset>
        <TextField form={form} name="comment" label="Comment" />
        <TextField form={form} name="created_by" label="Created by" />
        <FormError form={form} />
        <div class="buttons">
          <button type="submit" class="primary" disabled={form.busy}>
            Create silence
          </button>
          <button type="button" onClick={() => void runPreview()}>
            Preview matches
          </button>
        </div>
        <ErrorBox error={previewError} />
        {preview && (
          <p role="status">
            Would match rules {preview.rule_ids.join(', ') || 'none'}, devices {preview.device_ids.length}, open alerts {preview.open_alert_ids.join(', ') || 'none'}.
          </p>
        )}
      </form>
    </section>
  );
}
