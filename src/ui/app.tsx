/** The shell: a skip link, the navigation, who is logged in, and the page the route names; focus moves to each new page's heading. */
import { useEffect, useRef } from 'react';
import { useIdentity, type Identity } from './core/acl.ts';
import { SERVED_BY } from './core/mount.ts';
import { Link, useRoute, type Route } from './core/router.ts';
import { AclPage, ACL_TABS, type AclTab } from './pages/acl.tsx';
import { ConfigEntriesPage, KINDS } from './pages/config-entries.tsx';
import { GatewayPage } from './pages/gateway.tsx';
import { IntentionsPage } from './pages/intentions.tsx';
import { KvPage } from './pages/kv.tsx';
import { LoginPage, logout } from './pages/login.tsx';
import { NodePage, NodesPage } from './pages/nodes.tsx';
import { ServicePage } from './pages/service.tsx';
import { ServicesPage } from './pages/services.tsx';

const NAV = [
  ['services', 'Services'],
  ['nodes', 'Nodes'],
  ['kv/', 'Key/Value'],
  ['intentions', 'Intentions'],
  ['acl/tokens', 'Access control'],
  ['config/service-defaults', 'Config entries'],
  ['gateway', 'Gateway'],
] as const;

function page(route: Route, identity: Identity) {
  const [first, second] = route.segments;
  switch (first) {
    case undefined:
      return SERVED_BY === 'gateway' ? <GatewayPage /> : <ServicesPage />;
    case 'services':
      return second === undefined ? <ServicesPage /> : <ServicePage key={second} name={route.segments.slice(1).join('/')} />;
    case 'nodes':
      return second === undefined ? <NodesPage /> : <NodePage key={second} name={second} />;
    case 'kv':
      return <KvPage path={route.rest.replace(/^kv\/?/, '').split('/').map((p) => { try { return decodeURIComponent(p); } catch { return p; } }).join('/')} />;
    case 'intentions':
      return <IntentionsPage />;
    case 'acl':
      return <AclPage key={second} tab={(ACL_TABS as readonly string[]).includes(second ?? '') ? (second as AclTab) : 'tokens'} />;
    case 'config':
      return <ConfigEntriesPage key={second} kind={second && (KINDS as readonly string[]).includes(second) ? second : 'service-defaults'} />;
    case 'gateway':
    case 'dashboard':
      return <GatewayPage />;
    case 'login':
      return <LoginPage identity={identity} />;
    default:
      return <><h1 tabIndex={-1}>Not found</h1><p>No page at this address. <Link to="services">Go to the services</Link>.</p></>;
  }
}

function Who({ identity }: { identity: Identity }) {
  switch (identity.state) {
    case 'checking':
      return <span className="muted">…</span>;
    case 'disabled':
      return <span className="muted" title="The server runs without ACLs">ACLs off</span>;
    case 'token':
      return (
        <>
          <span className="who" title={identity.token.AccessorID}>{identity.token.Description || `token ${identity.token.AccessorID.slice(0, 8)}`}</span>
          <button type="button" className="link" onClick={() => void logout()}>Log out</button>
        </>
      );
    case 'rejected':
      return <><span className="warn">Token refused</span> <Link to="login">Log in</Link></>;
    case 'unreachable':
      return <span className="warn" title={identity.error.text}>Server unreachable</span>;
    case 'anonymous':
      return <Link to="login">Log in</Link>;
  }
}

export function App() {
  const route = useRoute();
  const identity = useIdentity();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const path = route.segments.join('/');
  useEffect(() => {
    // Keyboard and screen-reader users land on the new page's heading, not on the link they left.
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path]);
  const current = route.segments[0] ?? (SERVED_BY === 'gateway' ? 'gateway' : 'services');
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">Meshgate</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}><Link to={to} aria-current={to.split('/')[0] === current ? 'page' : undefined}>{label}</Link></li>
            ))}
          </ul>
        </nav>
        <span className="identity"><Who identity={identity} /></span>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {page(route, identity)}
      </main>
    </>
  );
}
