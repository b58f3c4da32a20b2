import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, fieldErrors } from '../lib/api';
import { href } from '../lib/router';
import { navigate } from '../state';

/** An in-app link: a real href (open in a new tab works), navigation without reload. */
export function Link(props: { to: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  const onClick = (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a href={href(props.to)} onClick={onClick} class={props.class} aria-current={props['aria-current']}>
      {props.children}
    </a>
  );
}

/** The API's error as it said it: message, code and request id (never thrown away). */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="error-box" role="alert">
      {title && <strong>{title}: </strong>}
      <span class="error-message">{e ? e.message : error instanceof Error ? error.message : String(error)}</span>
      {e && (
        <span class="error-meta">
          {' '}
          ({e.code}
          {e.status ? `, HTTP ${e.status}` : ''}
          {e.requestId ? `, request ${e.requestId}` : ''})
        </span>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" role="status">
      {what}…
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  set: (v: T) => void;
}

/** Runs `load` on mount and when `deps` change; the latest call wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(null);
        setLoading(false);
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
    // `load` is a new closure each render; the caller's deps say when it means something new.
  }, [...deps, tick]);
  return { data, error, loading, reload: useCallback(() => setTick((t) => t + 1), []), set: setData };
}

export type FormValues = Record<string, string | boolean>;

export interface Form<T extends FormValues> {
  values: T;
  set: (name: keyof T & string, value: string | boolean) => void;
  errors: Record<string, string>;
  busy: boolean;
  /** Runs `action`; an API error becomes messages beside the fields it names. */
  submit: (action: () => Promise<void>) => Promise<void>;
  setValues: (v: T) => void;
}

export function useForm<T extends FormValues>(initial: T, fields: readonly string[]): Form<T> {
  const [values, setValues] = useState<T>(initial);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (name: keyof T & string, value: string | boolean) => setValues((v) => ({ ...v, [name]: value }));
  const submit = async (action: () => Promise<void>) => {
    setBusy(true);
    setErrors({});
    try {
      await action();
    } catch (err) {
      setErrors(fieldErrors(err, fields));
    } finally {
      setBusy(false);
    }
  };
  return { values, set, errors, busy, submit, setValues };
}

let idSeq = 0;
const useId = (prefix: string) => useRef(`${prefix}-${++idSeq}`).current;

interface FieldProps<T extends FormValues> {
  form: Form<T>;
  name: keyof T & string;
  label: string;
  hint?: string;
}

function FieldShell(props: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren; class?: string }) {
  return (
    <div class={`field ${props.class ?? ''} ${props.error ? 'has-error' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <small class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </small>
      )}
      {props.error && (
        <small class="field-error" id={`${props.id}-error`} data-field-error={props.id}>
          {props.error}
        </small>
      )}
    </div>
  );
}

const described = (id: string, hint?: string, error?: string) => [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

export function TextField<T extends FormValues>(
  props: FieldProps<T> & { type?: string; placeholder?: string; autoComplete?: string; inputMode?: JSX.HTMLAttributes['inputMode']; required?: boolean; step?: string },
) {
  const id = useId(props.name);
  const error = props.form.errors[props.name];
  return (
    <FieldShell id={id} label={props.label} hint={props.hint} error={error}>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        step={props.step}
        value={String(props.form.values[props.name] ?? '')}
        placeholder={props.placeholder}
        autoComplete={props.autoComplete ?? 'off'}
        inputMode={props.inputMode}
        required={props.required}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props.hint, error)}
        onInput={(e) => props.form.set(props.name, (e.currentTarget as HTMLInputElement).value)}
      />
    </FieldShell>
  );
}

export function SelectField<T extends FormValues>(props: FieldProps<T> & { options: readonly (string | [string, string])[] }) {
  const id = useId(props.name);
  const error = props.form.errors[props.name];
  return (
    <FieldShell id={id} label={props.label} hint={props.hint} error={error}>
      <select
        id={id}
        name={props.name}
        value={String(props.form.values[props.name] ?? '')}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described(id, props.hint, error)}
        onChange={(e) => props.form.set(props.name, (e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => {
          const [value, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </FieldShell>
  );
}

export function CheckField<T extends FormValues>(props: FieldProps<T>) {
  const id = useId(props.name);
  const error = props.form.errors[props.name];
  return (
    <div class={`field check ${error ? 'has-error' : ''}`}>
      <input
        id={id}
        type="checkbox"
        name={props.name}
        checked={Boolean(props.form.values[props.name])}
        aria-describedby={described(id, props.hint, error)}
        onChange={(e) => props.form.set(props.name, (e.currentTarget as HTMLInputElement).checked)}
      />
      <label for={id}>{props.label}</label>
      {error && (
        <small class="field-error" id={`${id}-error`}>
          {error}
        </small>
      )}
    </div>
  );
}

/** The API's message for a group of controls (a fieldset: `matchers`, the days of a recurrence). */
export function GroupError({ form, name }: { form: { errors: Record<string, string> }; name: string }) {
  const msg = form.errors[name];
  return msg ? (
    <small class="field-error" role="alert" data-field-error={name}>
      {msg}
    </small>
  ) : null;
}

/** Problems the form has no field for (and 400/409 messages), above the buttons. */
export function FormError({ form }: { form: { errors: Record<string, string> } }) {
  const msg = form.errors[''];
  return msg ? (
    <p class="error-box form-error" role="alert">
      {msg}
    </p>
  ) : null;
}

export function Badge({ value, kind }: { value: string; kind?: string }) {
  return <span class={`badge badge-${(kind ?? value).replace(/[^a-z_-]/gi, '')}`}>{value}</span>;
}

/** A button that runs an action, shows it is busy, and shows the API's error beside it. */
export function ActionButton(props: { label: string; run: () => Promise<unknown>; onDone?: () => void; class?: string; confirm?: string; disabled?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(null);
    try {
      await props.run();
      props.onDone?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={props.class} onClick={click} disabled={busy || props.disabled} aria-busy={busy}>
        {props.label}
      </button>
      {error != null && (
        <span class="inline-error" role="alert">
          {error instanceof ApiError ? `${error.message} (${error.code})` : String((error as Error)?.message ?? error)}
        </span>
      )}
    </span>
  );
}

/**
 * Renders only the rows in view (plus a margin), so 10,000 rows cost what 30 do. Rows have a
 * fixed height; the container scrolls by itself and by keyboard (it is focusable).
 */
export function VirtualList<T>(props: { items: readonly T[]; rowHeight: number; height: number; label: string; row: (item: T, index: number) => ComponentChildren; keyOf: (item: T) => string | number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const { items, rowHeight, height } = props;
  const first = Math.max(0, Math.floor(top / rowHeight) - 10);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 10);
  return (
    <div
      ref={ref}
      class="vlist"
      role="list"
      aria-label={props.label}
      tabIndex={0}
      style={{ height: `${Math.min(height, items.length * rowHeight + 2)}px` }}
      onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div style={{ height: `${items.length * rowHeight}px`, position: 'relative' }}>
        {items.slice(first, last).map((item, i) => (
          <div role="listitem" class="vrow" key={props.keyOf(item)} style={{ top: `${(first + i) * rowHeight}px`, height: `${rowHeight}px` }}>
            {props.row(item, first + i)}
          </div>
        ))}
      </div>
    </div>
  );
}

export function PageTitle({ children, actions }: { children: ComponentChildren; actions?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${typeof children === 'string' ? children : 'Console'} · Watchpost`;
  }, [children]);
  return (
    <div class="page-title">
      <h1 tabIndex={-1} id="page-heading">
        {children}
      </h1>
      {actions && <div class="actions">{actions}</div>}
    </div>
  );
}
