/**
 * Login with an ACL token (checked with /v1/acl/token/self before it is kept) or through an auth method
 * (`/v1/acl/login` with a bearer token such as a Kubernetes service-account JWT). The secret goes to sessionStorage,
 * or to localStorage when "remember me" is ticked. Logout destroys a login token on the server (`/v1/acl/logout`).
 */
import { useId, useState, type FormEvent } from 'react';
import { ApiError, consulJson, isAclDisabled } from '../core/http.ts';
import type { AclToken, Identity } from '../core/acl.ts';
import { navigate } from '../core/router.ts';
import { clearToken, getToken, setToken } from '../core/token.ts';
import { ErrorBox } from '../components/states.tsx';

function explain(err: unknown): Error {
  if (err instanceof ApiError && /ACL not found/i.test(err.text)) return new Error('No token with this secret exists on the server.');
  if (isAclDisabled(err)) return new Error('ACLs are disabled on this server: no login is needed.');
  if (err instanceof ApiError) return new Error(err.text || `HTTP ${err.status}`);
  return err instanceof Error ? err : new Error(String(err));
}

export async function logout(): Promise<void> {
  const stored = getToken();
  if (stored?.fromLogin) {
    // A token made by /v1/acl/login is destroyed, as Consul's UI does; a failure still logs out locally.
    await consulJson('/v1/acl/logout', { method: 'POST' }).catch(() => undefined);
  }
  clearToken();
}

export function LoginPage({ identity }: { identity: Identity }) {
  const [mode, setMode] = useState<'token' | 'method'>('token');
  const [secret, setSecret] = useState('');
  const [method, setMethod] = useState('');
  const [bearer, setBearer] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const ids = { secret: useId(), method: useId(), bearer: useId(), remember: useId() };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'token') {
        await consulJson<AclToken>('/v1/acl/token/self', { token: secret.trim() });
        setToken(secret.trim(), { remember, fromLogin: false });
      } else {
        const token = await consulJson<AclToken>('/v1/acl/login', { method: 'POST', token: '', body: { AuthMethod: method.trim(), BearerToken: bearer.trim() } });
        if (!token.SecretID) throw new Error('The server answered the login without a secret.');
        setToken(token.SecretID, { remember, fromLogin: true });
      }
      navigate('services');
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Log in</h1>
      {identity.state === 'disabled' && <p className="state empty">ACLs are disabled on this server: every page works without a token.</p>}
      {identity.state === 'token' && (
        <div className="card">
          <p>Logged in as <strong>{identity.token.Description || identity.token.AccessorID}</strong> <span className="muted">({identity.token.AccessorID})</span>.</p>
          <button type="button" onClick={() => void logout()}>Log out</button>
        </div>
      )}
      <div className="tabs" role="radiogroup" aria-label="Login with">
        <label><input type="radio" name="mode" checked={mode === 'token'} onChange={() => setMode('token')} /> ACL token</label>
        <label><input type="radio" name="mode" checked={mode === 'method'} onChange={() => setMode('method')} /> Auth method</label>
      </div>
      <form className="card narrow" onSubmit={(e) => void submit(e)} aria-label="Log in">
        {mode === 'token' ? (
          <span className="field">
            <label htmlFor={ids.secret}>Secret ID</label>
            <input id={ids.secret} type="password" autoComplete="current-password" value={secret} onChange={(e) => setSecret(e.target.value)} required />
          </span>
        ) : (
          <>
            <span className="field">
              <label htmlFor={ids.method}>Auth method</label>
              <input id={ids.method} value={method} onChange={(e) => setMethod(e.target.value)} required />
            </span>
            <span className="field">
              <label htmlFor={ids.bearer}>Bearer token (JWT)</label>
              <textarea id={ids.bearer} rows={4} value={bearer} onChange={(e) => setBearer(e.target.value)} required />
            </span>
          </>
        )}
        <span className="check">
          <input id={ids.remember} type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          <label htmlFor={ids.remember}>Remember me on this browser</label>
        </span>
        {error && <ErrorBox error={error} what="" action="log in" />}
        <button type="submit" disabled={busy}>Log in</button>
      </form>
    </>
  );
}
