/**
 * Loading, empty and error states, the same everywhere. An error is never a blank page: a 403 says which
 * permission Consul reported missing and offers the login page; an unreachable API names the URL it tried.
 */
import type { ReactNode } from 'react';
import { ApiError, missingPermission } from '../core/http.ts';
import type { Health } from '../core/health.ts';
import { SERVED_BY } from '../core/mount.ts';
import { Link } from '../core/router.ts';

export function Loading({ what }: { what: string }) {
  return <p className="state loading" role="status" aria-live="polite">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

/** `action` names what failed: loading by default, or the write a form attempted (`save`, `delete`, `log in to`). */
export function ErrorBox({ error, what, action = 'load' }: { error: unknown; what: string; action?: string }) {
  const doing = [action, what].filter((x) => x !== '').join(' ');
  if (!(error instanceof ApiError)) {
    return <div className="state error" role="alert"><strong>Could not {doing}.</strong> {error instanceof Error ? error.message : String(error)}</div>;
  }
  if (error.status === 403) {
    const missing = missingPermission(error);
    const notFound = /ACL not found/i.test(error.text);
    return (
      <div className="state error" role="alert">
        <strong>{notFound ? 'Your token is not valid on this server.' : `Permission denied: could not ${doing}.`}</strong>
        {missing && (
          <p>
            The token lacks <code>{missing.permission}</code>{missing.resource !== '' && <> on <code>{missing.resource}</code></>}.
          </p>
        )}
        <p className="muted">Server said: {error.text}</p>
        <p><Link to="login">Log in with another token</Link></p>
      </div>
    );
  }
  const path = new URL(error.url, location.href).pathname;
  // An empty 404 is a path the process does not serve: an older server, or the gateway without a /v1 route.
  const unserved = error.status === 404 && (error.text === '' || error.text === '404 page not found');
  return (
    <div className="state error" role="alert">
      <strong>Could not {doing}{error.status > 0 ? ` (HTTP ${error.status})` : ''}.</strong>
      <p className="muted">
        {unserved
          ? SERVED_BY === 'gateway' && path.startsWith('/v1/')
            ? 'This gateway does not route the Consul API: add a router sending PathPrefix(`/v1`) to the server, or open the UI the server serves at /ui/.'
            : `This server does not serve ${path}.`
          : error.text}
      </p>
    </div>
  );
}

/** The standard wrapper: loading first, then error (with stale data kept below it), then the content. */
export function Section<T>({ live, what, children }: { live: { data: T | undefined; error: unknown; loading: boolean }; what: string; children: (data: T) => ReactNode }) {
  if (live.loading && live.data === undefined) return <Loading what={what} />;
  return (
    <>
      {live.error !== undefined && <ErrorBox error={live.error} what={what} />}
      {live.data !== undefined && children(live.data)}
    </>
  );
}

export function HealthBadge({ status, label }: { status: Health; label?: string }) {
  const text = label ?? status;
  return <span className={`badge health-${status}`}><span aria-hidden="true" className="dot" />{text}</span>;
}
