import { useEffect } from 'preact/hooks';
import { Link } from './ui/kit';
import { route, session, signOut, startLiveAlerts, streamDetail, streamState } from './state';
import { SignIn } from './pages/sign-in';
import { Overview } from './pages/overview';
import { DevicePage, DevicesPage } from './pages/devices';
import { AlertsPage } from './pages/alerts';
import { RuleFormPage, RulesPage } from './pages/rules';
import { WebhookPage, WebhooksPage } from './pages/webhooks';
import { SilenceNewPage, SilencesPage } from './pages/silences';
import { AdminPage } from './pages/admin';

const NAV: [string, string, string[]][] = [
  ['/', 'Overview', ['overview']],
  ['/devices', 'Devices', ['devices', 'device']],
  ['/alerts', 'Alerts', ['alerts']],
  ['/rules', 'Rules', ['rules', 'rule']],
  ['/webhooks', 'Webhooks', ['webhooks', 'webhook']],
  ['/silences', 'Silences', ['silences', 'silence-new']],
];

function Page() {
  const r = route.value;
  switch (r.page) {
    case 'overview':
      return <Overview />;
    case 'devices':
      return <DevicesPage />;
    case 'device':
      return <DevicePage id={r.id} />;
    case 'alerts':
      return <AlertsPage />;
    case 'rules':
      return <RulesPage />;
    case 'rule':
      return <RuleFormPage id={r.id} />;
    case 'webhooks':
      return <WebhooksPage />;
    case 'webhook':
      return <WebhookPage id={r.id} />;
    case 'silences':
      return <SilencesPage />;
    case 'silence-new':
      return <SilenceNewPage />;
    case 'admin':
      return <AdminPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No console page at <code>{r.path}</code>. <Link to="/">Go to the overview</Link>.
          </p>
        </section>
      );
  }
}

function StreamIndicator() {
  const state = streamState.value;
  const text = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'disconnected' ? 'Disconnected' : 'Offline';
  return (
    <span class={`stream stream-${state}`} role="status" aria-live="polite" title={streamDetail.value || text} data-stream-state={state}>
      <span class="dot" aria-hidden="true" /> {text}
    </span>
  );
}

export function App() {
  const creds = session.value;
  useEffect(() => {
    if (creds) startLiveAlerts();
  }, [creds]);
  // A new page moves focus to its heading, so keyboard and screen-reader users start there.
  const page = route.value.page;
  useEffect(() => {
    document.getElementById('page-heading')?.focus({ preventScroll: true });
  }, [page]);
  if (!creds) return <SignIn />;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Watchpost</span>
        <nav aria-label="Main">
          <ul>
            {[...NAV, ...(creds.adminToken ? ([['/admin', 'Admin', ['admin']]] as [string, string, string[]][]) : [])].map(([to, label, pages]) => (
              <li key={to}>
                <Link to={to} aria-current={pages.includes(page) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          <StreamIndicator />
          <span class="muted" data-testid="session" title={creds.scopes ? `scopes: ${creds.scopes.join(', ')}` : undefined}>
            project {creds.projectId}
            {creds.prefix && ` · key ${creds.prefix}`}
            {creds.scopes && !creds.scopes.includes('write') && ' · read-only'}
          </span>
          <button type="button" onClick={() => signOut('')}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Page />
      </main>
    </div>
  );
}
