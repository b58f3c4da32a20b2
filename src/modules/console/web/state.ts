import { signal } from '@preact/signals';
import { ApiClient, ApiError, Credentials } from './lib/api';
import { BASE, parseRoute, Route } from './lib/router';
import { openStream, SseEvent, StreamState } from './lib/sse';
import { formatTime } from './lib/format';
import type { Alert, Device } from './lib/types';

/**
 * The signed-in credentials live in sessionStorage only: gone when the tab closes, never in
 * localStorage, a cookie or a URL.
 */
const SESSION_KEY = 'watchpost.console.session';

function loadSession(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    const c = raw ? (JSON.parse(raw) as Credentials) : null;
    return c && typeof c.apiKey === 'string' && Number.isInteger(c.projectId) ? c : null;
  } catch {
    return null;
  }
}

export const session = signal<Credentials | null>(loadSession());
export const signInMessage = signal('');
export const route = signal<Route>(parseRoute(location.pathname));
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 5000);

export function navigate(path: string, replace = false): void {
  const url = path.startsWith(BASE) ? path : BASE + (path === '/' ? '' : path);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  route.value = parseRoute(location.pathname);
  window.scrollTo(0, 0);
}
window.addEventListener('popstate', () => (route.value = parseRoute(location.pathname)));

export const api = new ApiClient(
  () => session.value,
  undefined,
  (err) => signOut(`${err.message} (${err.code}, HTTP ${err.status})`),
);

export function signIn(c: Credentials): void {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(c));
  signInMessage.value = '';
  session.value = c;
  devices.value = [];
  devicesLoaded.value = false;
}

export function signOut(message = ''): void {
  sessionStorage.removeItem(SESSION_KEY);
  stopLiveAlerts();
  signInMessage.value = message;
  session.value = null;
}

// ---- devices: loaded once per session, page by page, so the list renders as it arrives ----
export const devices = signal<Device[]>([]);
export const devicesLoaded = signal(false);
export const devicesError = signal<ApiError | Error | null>(null);
let devicesLoading: Promise<void> | null = null;

/**
 * Loads (or refreshes) every device. The first load shows each page as it arrives; a refresh
 * keeps the current list on screen and swaps the new one in when complete.
 */
export function loadDevices(): Promise<void> {
  if (devicesLoading) return devicesLoading;
  devicesError.value = null;
  const first = !devicesLoaded.value;
  devicesLoading = api
    .all<Device>(
      api.project('/devices'),
      { limit: 1000 },
      (items) => {
        if (first) devices.value = items;
      },
      Infinity,
      { firstLimit: first ? 100 : undefined },
    )
    .then(
      (items) => {
        devices.value = items;
        devicesLoaded.value = true;
      },
      (err) => {
        devicesError.value = err;
      },
    )
    .finally(() => (devicesLoading = null));
  return devicesLoading;
}

const fetchingDevice = new Set<number>();

/** A device the list does not hold yet (one created since it loaded) is fetched on its own. */
export function ensureDevice(id: number): void {
  if (fetchingDevice.has(id) || devicesLoading || devices.value.some((d) => d.id === id)) return;
  fetchingDevice.add(id);
  api.get<Device>(api.project(`/devices/${id}`)).then(
    (d) => (devices.value = [...devices.value, d]),
    () => undefined,
  );
}

// ---- live alerts: one stream per signed-in tab, fanned out to whichever page listens ----
export interface AlertEvent {
  type: string;
  alert: Alert;
  receivedAt: number;
}
export const streamState = signal<StreamState>('stopped');
export const streamDetail = signal('');
const listeners = new Set<(e: AlertEvent) => void>();
let stream: { stop(): void } | null = null;

export function onAlertEvent(fn: (e: AlertEvent) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function startLiveAlerts(): void {
  if (stream || !session.value) return;
  stream = openStream({
    url: '/alerts/stream',
    headers: () => api.headers(),
    onEvent: (e: SseEvent) => {
      if (!e.event.startsWith('alert.')) return;
      let alert: Alert;
      try {
        alert = JSON.parse(e.data) as Alert;
      } catch {
        return;
      }
      const event = { type: e.event, alert, receivedAt: performance.now() };
      for (const fn of listeners) fn(event);
    },
    onState: (state, detail) => {
      streamState.value = state;
      streamDetail.value =
        state === 'disconnected' && detail?.retryInMs !== undefined
          ? `${detail.error ?? 'disconnected'}; retrying at ${formatTime(new Date(Date.now() + detail.retryInMs).toISOString())}`
          : '';
    },
    onAuthError: (status, body) => {
      stream = null;
      const msg = (body as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${status}`;
      signOut(`${msg} (HTTP ${status})`);
    },
  });
}

export function stopLiveAlerts(): void {
  stream?.stop();
  stream = null;
}
