import { ApiError, parseSession, toApiError } from '../lib/api';
import { navigate, route, signIn, signInMessage } from '../state';

import { FormError, TextField, useForm } from '../ui/kit';

const KEY_FORMAT = /^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/;

/**
 * Sign-in with a project key alone: `GET /console/session` (the key as a header) says which
 * project it belongs to and what it may do; a refused key shows the API's answer beside it.
 */
export function SignIn() {
  const form = useForm({ api_key: '', admin_token: '' }, ['api_key', 'admin_token']);
  const message = signInMessage.value;

  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const apiKey = form.values.api_key.trim();
      if (!KEY_FORMAT.test(apiKey)) throw new ApiError(422, 'CONSOLE.SIGN_IN', 'check the fields', [{ field: 'api_key', message: 'an API key looks like 1a2b3c4d.<43 characters>' }]);
      const adminToken = form.values.admin_token.trim() || undefined;
      // Checked directly, not through the shared client: a failure here must not sign out.
      const res = await fetch('/console/session', { headers: { 'X-API-Key': apiKey, Accept: 'application/json' }, cache: 'no-store', credentials: 'omit' });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        const err = toApiError(res.status, body, res.headers.get('x-request-id'));
        throw new ApiError(res.status, err.code, err.message, [{ field: 'api_key', message: err.message }], err.requestId);
      }
      const s = parseSession(body);
      if (!s) throw new ApiError(res.status, 'CONSOLE.SESSION', 'the API answered /console/session with something else than a session');
      if (adminToken) {
        const admin = await fetch('/orgs?limit=1', { headers: { 'X-Admin-Token': adminToken }, cache: 'no-store', credentials: 'omit' });
        if (!admin.ok) {
          const msg = toApiError(admin.status, await admin.json().catch(() => null)).message;
          throw new ApiError(admin.status, 'AUTH', msg, [{ field: 'admin_token', message: msg }]);
        }
      }
      signIn({ apiKey, projectId: s.project_id, prefix: s.prefix, scopes: s.scopes, adminToken });
      if (route.value.page === 'not-found') navigate('/', true);
    });
  };

  return (
    <main class="sign-in" id="main">
      <form onSubmit={submit} aria-labelledby="sign-in-title" novalidate>
        <h1 id="sign-in-title">Watchpost console</h1>
        <p class="muted">Sign in with a project API key. It is kept in this browser tab only and sent as a header.</p>
        {message && (
          <p class="error-box" role="alert" data-sign-in-message>
            {message}
          </p>
        )}
        <TextField form={form} name="api_key" label="API key" type="password" autoComplete="off" required />
        <TextField form={form} name="admin_token" label="Admin token (optional: orgs, projects and keys)" type="password" />
        <FormError form={form} />
        <button type="submit" class="primary" disabled={form.busy}>
          {form.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
