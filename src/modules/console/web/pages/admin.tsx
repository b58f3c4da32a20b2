import { useState } from 'preact/hooks';
import { formatTime } from '../lib/format';
import type { ApiKeyInfo, Org, Project } from '../lib/types';
import { api } from '../state';
import { ActionButton, CheckField, ErrorBox, FormError, Loading, PageTitle, TextField, useForm, useLoad } from '../ui/kit';

/** Orgs, projects and keys: admin-token calls (X-Admin-Token), shown only when one was given. */
export function AdminPage() {
  const orgs = useLoad(() => api.all<Org>('/orgs', { limit: 1000 }, undefined, 5000, { admin: true }), []);
  const [org, setOrg] = useState<number | null>(null);
  const [project, setProject] = useState<number | null>(null);
  const form = useForm({ name: '' }, ['name']);
  const create = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const o = await api.post<Org>('/orgs', { name: form.values.name }, true);
      orgs.set([o, ...(orgs.data ?? [])]);
      form.set('name', '');
    });
  };
  return (
    <section>
      <PageTitle>Admin</PageTitle>
      <div class="cards">
        <section class="card" aria-labelledby="orgs-title">
          <h2 id="orgs-title">Organisations</h2>
          <ErrorBox error={orgs.error} />
          {orgs.loading && !orgs.data && <Loading />}
          <ul class="plain">
            {(orgs.data ?? []).map((o) => (
              <li key={o.id}>
                <button type="button" class="link" aria-pressed={org === o.id} onClick={() => (setOrg(o.id), setProject(null))}>
                  {o.name}
                </button>{' '}
                <span class="muted">#{o.id}</span>
              </li>
            ))}
          </ul>
          <form onSubmit={create} novalidate>
            <TextField form={form} name="name" label="New organisation name" />
            <FormError form={form} />
            <button type="submit" disabled={form.busy}>
              Create organisation
            </button>
          </form>
        </section>
        {org !== null && <Projects org={org} selected={project} onSelect={setProject} key={org} />}
        {project !== null && <Keys project={project} key={project} />}
      </div>
    </section>
  );
}

function Projects({ org, selected, onSelect }: { org: number; selected: number | null; onSelect: (id: number) => void }) {
  const list = useLoad(() => api.all<Project>(`/orgs/${org}/projects`, { limit: 1000 }, undefined, 5000, { admin: true }), [org]);
  const form = useForm({ name: '' }, ['name']);
  const create = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const p = await api.post<Project>(`/orgs/${org}/projects`, { name: form.values.name }, true);
      list.set([p, ...(list.data ?? [])]);
      form.set('name', '');
    });
  };
  return (
    <section class="card" aria-labelledby="projects-title">
      <h2 id="projects-title">Projects of org {org}</h2>
      <ErrorBox error={list.error} />
      <ul class="plain">
        {(list.data ?? []).map((p) => (
          <li key={p.id}>
            <button type="button" class="link" aria-pressed={selected === p.id} onClick={() => onSelect(p.id)}>
              {p.name}
            </button>{' '}
            <span class="muted">#{p.id}</span>
          </li>
        ))}
      </ul>
      <form onSubmit={create} novalidate>
        <TextField form={form} name="name" label="New project name" />
        <FormError form={form} />
        <button type="submit" disabled={form.busy}>
          Create project
        </button>
      </form>
    </section>
  );
}

function Keys({ project }: { project: number }) {
  const list = useLoad(() => api.all<ApiKeyInfo>(`/projects/${project}/api-keys`, { limit: 1000 }, undefined, 5000, { admin: true }), [project]);
  const form = useForm({ name: '', ingest: true, read: true, write: true }, ['name', 'scopes']);
  const [created, setCreated] = useState<ApiKeyInfo | null>(null);
  const create = (e: Event) => {
    e.preventDefault();
    void form.submit(async () => {
      const v = form.values;
      const scopes = (['ingest', 'read', 'write'] as const).filter((s) => v[s]);
      const k = await api.post<ApiKeyInfo>(`/projects/${project}/api-keys`, { name: v.name || undefined, scopes }, true);
      setCreated(k);
      list.reload();
    });
  };
  return (
    <section class="card wide" aria-labelledby="keys-title">
      <h2 id="keys-title">API keys of project {project}</h2>
      <ErrorBox error={list.error} />
      <ul class="plain">
        {(list.data ?? []).map((k) => (
          <li key={k.prefix}>
            <code>{k.prefix}</code> {k.name} <span class="muted">{k.scopes.join(', ')}</span> {k.created_at && <span class="muted">{formatTime(k.created_at)}</span>}{' '}
            {k.revoked_at ? (
              <span class="muted">revoked {formatTime(k.revoked_at)}</span>
            ) : (
              <ActionButton label="Revoke" class="danger" confirm={`Revoke key ${k.prefix}?`} run={() => api.delete(`/projects/${project}/api-keys/${k.prefix}`, true)} onDone={list.reload} />
            )}
          </li>
        ))}
      </ul>
      <form onSubmit={create} novalidate>
        <TextField form={form} name="name" label="New key name" />
        <div class="checks" role="group" aria-label="Scopes">
          <CheckField form={form} name="ingest" label="ingest" />
          <CheckField form={form} name="read" label="read" />
          <CheckField form={form} name="write" label="write" />
        </div>
        <FormError form={form} />
        <button type="submit" disabled={form.busy}>
          Create key
        </button>
      </form>
      {created?.api_key && (
        <p>
          New key (shown once): <code class="secret">{created.api_key}</code>
        </p>
      )}
    </section>
  );
}
