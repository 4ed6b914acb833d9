/** ACL tokens, policies, roles and auth methods (live lists), with create/delete where Consul's API has them; a clear state when ACLs are off. */
import { useId, useState, type FormEvent } from 'react';
import { useBlocking } from '../core/blocking.ts';
import { consulJson, enc, isAclDisabled } from '../core/http.ts';
import type { AclToken } from '../core/acl.ts';
import { Link } from '../core/router.ts';
import { CodeEditor } from '../components/code-editor.tsx';
import { Empty, ErrorBox, Loading } from '../components/states.tsx';

export const ACL_TABS = ['tokens', 'policies', 'roles', 'auth-methods'] as const;
export type AclTab = (typeof ACL_TABS)[number];

interface Named {
  ID?: string;
  Name?: string;
  Type?: string;
  DisplayName?: string;
  Description?: string;
  Policies?: Array<{ Name?: string }>;
  Datacenters?: string[];
}

function NewPolicy() {
  const [name, setName] = useState('');
  const [rules, setRules] = useState('service_prefix "" {\n  policy = "read"\n}\n');
  const [error, setError] = useState<Error>();
  const nameId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await consulJson('/v1/acl/policy', { method: 'PUT', body: { Name: name.trim(), Rules: rules } });
      setName('');
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form className="card" aria-label="New policy" onSubmit={(e) => void submit(e)}>
      <h2>New policy</h2>
      <span className="field"><label htmlFor={nameId}>Name</label><input id={nameId} value={name} onChange={(e) => setName(e.target.value)} required /></span>
      <CodeEditor label="Rules (HCL or JSON)" value={rules} onChange={setRules} syntax="text" rows={6} />
      {error && <ErrorBox error={error} what="the policy" action="create" />}
      <button type="submit">Create policy</button>
    </form>
  );
}

function NewToken() {
  const [description, setDescription] = useState('');
  const [policies, setPolicies] = useState('');
  const [created, setCreated] = useState<AclToken>();
  const [error, setError] = useState<Error>();
  const descId = useId();
  const polId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const names = policies.split(',').map((p) => p.trim()).filter((p) => p !== '');
      setCreated(await consulJson<AclToken>('/v1/acl/token', { method: 'PUT', body: { Description: description, Policies: names.map((Name) => ({ Name })) } }));
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form className="card" aria-label="New token" onSubmit={(e) => void submit(e)}>
      <h2>New token</h2>
      <div className="row">
        <span className="field grow"><label htmlFor={descId}>Description</label><input id={descId} value={description} onChange={(e) => setDescription(e.target.value)} /></span>
        <span className="field grow"><label htmlFor={polId}>Policies (names, comma-separated)</label><input id={polId} value={policies} onChange={(e) => setPolicies(e.target.value)} /></span>
      </div>
      {created && <p role="status" className="ok">Created {created.AccessorID}. Secret: <code>{created.SecretID}</code> (shown once here).</p>}
      {error && <ErrorBox error={error} what="the token" action="create" />}
      <button type="submit">Create token</button>
    </form>
  );
}

const PATHS: Record<AclTab, { list: string; item: (row: Named & AclToken) => string }> = {
  tokens: { list: '/v1/acl/tokens', item: (r) => `/v1/acl/token/${enc(r.AccessorID)}` },
  policies: { list: '/v1/acl/policies', item: (r) => `/v1/acl/policy/${enc(r.ID ?? '')}` },
  roles: { list: '/v1/acl/roles', item: (r) => `/v1/acl/role/${enc(r.ID ?? '')}` },
  'auth-methods': { list: '/v1/acl/auth-methods', item: (r) => `/v1/acl/auth-method/${enc(r.Name ?? '')}` },
};

export function AclPage({ tab }: { tab: AclTab }) {
  const live = useBlocking<Array<Named & AclToken>>(PATHS[tab].list);
  const [error, setError] = useState<Error>();
  const remove = async (row: Named & AclToken) => {
    const label = row.Name ?? row.Description ?? row.AccessorID;
    if (!confirm(`Delete ${label}?`)) return;
    try {
      await consulJson(PATHS[tab].item(row), { method: 'DELETE' });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const disabled = live.error !== undefined && isAclDisabled(live.error);
  return (
    <>
      <h1 tabIndex={-1}>Access control</h1>
      <nav aria-label="ACL sections" className="tabs">
        {ACL_TABS.map((t) => <Link key={t} to={`acl/${t}`} aria-current={t === tab ? 'page' : undefined}>{t.replace('-', ' ')}</Link>)}
      </nav>
      {disabled ? (
        <p className="state empty" data-acl="disabled">ACLs are disabled on this server. Start it with ACLs enabled (Consul's <code>acl</code> block) to manage tokens, policies, roles and auth methods.</p>
      ) : (
        <>
          {live.error && <ErrorBox error={live.error} what={tab} />}
          {error && <ErrorBox error={error} what={`from ${tab}`} action="delete" />}
          {live.loading && live.data === undefined ? <Loading what={tab} /> : live.data && (live.data.length === 0 ? <Empty>No {tab.replace('-', ' ')}.</Empty> : (
            <table className="list" aria-label={tab}>
              <thead>
                <tr>
                  <th scope="col">{tab === 'tokens' ? 'Accessor ID' : 'Name'}</th>
                  <th scope="col">{tab === 'auth-methods' ? 'Type' : 'Description'}</th>
                  <th scope="col">{tab === 'tokens' || tab === 'roles' ? 'Policies' : tab === 'policies' ? 'Datacenters' : 'Display name'}</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {live.data.map((r) => (
                  <tr key={r.AccessorID ?? r.ID ?? r.Name}>
                    <th scope="row"><code>{tab === 'tokens' ? r.AccessorID : r.Name}</code></th>
                    <td>{tab === 'auth-methods' ? r.Type : r.Description || '—'}{tab === 'tokens' && r.AuthMethod ? ` (login via ${r.AuthMethod})` : ''}</td>
                    <td>{tab === 'tokens' || tab === 'roles' ? (r.Policies ?? []).map((p) => p.Name).join(', ') || '—' : tab === 'policies' ? (r.Datacenters ?? []).join(', ') || 'all' : r.DisplayName || '—'}</td>
                    <td className="actions"><button type="button" className="danger" onClick={() => void remove(r)}>Delete</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          ))}
          {tab === 'tokens' && <NewToken />}
          {tab === 'policies' && <NewPolicy />}
        </>
      )}
    </>
  );
}
