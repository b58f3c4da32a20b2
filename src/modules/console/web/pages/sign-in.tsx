import { ApiError } from '../lib/api';
import { navigate, route, signIn, signInMessage } from '../state';

import { FormError, TextField, useForm } from '../ui/kit';

const KEY_FORMAT = /^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/;

/**
 * Sign-in with a project key and its project id (a key does not name its project). The key is
 * checked with one read of the project before it is kept; a bad one shows the API's answer.
 */
export function SignIn() {
  const form = useForm({ api_key: '', project_id: '', admin_token: '' }, ['api_key', 'project_id', 'admin_token']);
  const message = signInMessage.value;

  const submit = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const apiKey = form.values.api_key.trim();
      const projectId = Number(form.values.project_id);
      const problems = [];
      if (!KEY_FORMAT.test(apiKey)) problems.push({ field: 'api_key', message: 'an API key looks like 1a2b3c4d.<43 characters>' });
      if (!Number.isInteger(projectId) || projectId < 1) problems.push({ field: 'project_id', message: 'the project id is a positive whole number' });
      if (problems.length) throw new ApiError(422, 'CONSOLE.SIGN_IN', 'check the fields', problems);
      const adminToken = form.values.admin_token.trim() || undefined;
      const headers: Record<string, string> = { 'X-API-Key': apiKey, Accept: 'application/json' };
      // Checked directly, not through the shared client: a failure here must not sign out.
      const res = await fetch(`/projects/${projectId}/devices?limit=1`, { headers, cache: 'no-store', credentials: 'omit' });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        const err = body?.error;
        const field = res.status === 404 ? 'project_id' : 'api_key';
        const msg = res.status === 404 ? 'this key does not belong to that project (or it does not exist)' : (err?.message ?? `HTTP ${res.status}`);
        throw new ApiError(res.status, err?.code ?? `HTTP.${res.status}`, msg, [{ field, message: msg }]);
      }
      if (adminToken) {
        const admin = await fetch('/orgs?limit=1', { headers: { 'X-Admin-Token': adminToken }, cache: 'no-store', credentials: 'omit' });
        if (!admin.ok) {
          const body = await admin.json().catch(() => null);
          const msg = body?.error?.message ?? `HTTP ${admin.status}`;
          throw new ApiError(admin.status, 'AUTH', msg, [{ field: 'admin_token', message: msg }]);
        }
      }
      signIn({ apiKey, projectId, adminToken });
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
        <TextField form={form} name="project_id" label="Project ID" inputMode="numeric" required />
        <TextField form={form} name="admin_token" label="Admin token (optional: orgs, projects and keys)" type="password" />
        <FormError form={form} />
        <button type="submit" class="primary" disabled={form.busy}>
          {form.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
