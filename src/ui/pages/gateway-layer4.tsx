/**
 * The gateway page's TCP and UDP part (Traefik dashboard's TCP and UDP tabs): routers with their rule, entry points,
 * service and TLS mode; services with their type and servers; TCP middlewares — each with the status and errors
 * the gateway's API reports (`/api/tcp/…`, `/api/udp/…`). Sections with nothing configured say so in one line.
 */
import { Empty } from '../components/states.tsx';

export interface Layer4Row {
  name: string;
  status?: string;
  provider?: string;
  error?: string[];
  rule?: string;
  service?: string;
  type?: string;
  entryPoints?: string[];
  middlewares?: string[];
  using?: string[];
  usedBy?: string[];
  tls?: { passthrough?: boolean };
  loadBalancer?: { servers?: Array<{ address?: string; weight?: number }> };
  weighted?: { services?: Array<{ name: string; weight?: number }> };
}

export interface Layer4Snapshot {
  tcpRouters: Layer4Row[];
  tcpServices: Layer4Row[];
  tcpMiddlewares: Layer4Row[];
  udpRouters: Layer4Row[];
  udpServices: Layer4Row[];
}

export function Status({ status }: { status?: string }) {
  const s = status ?? 'unknown';
  const cls = s === 'enabled' ? 'passing' : s === 'warning' ? 'warning' : s === 'disabled' ? 'critical' : 'unknown';
  return <span className={`badge health-${cls}`}><span aria-hidden="true" className="dot" />{s}</span>;
}

export function Errors({ row }: { row: { error?: string[] } }) {
  if (!row.error || row.error.length === 0) return null;
  return <ul className="errors">{row.error.map((e) => <li key={e}>{e}</li>)}</ul>;
}

function tlsMode(row: Layer4Row): string {
  if (row.tls === undefined) return '—';
  return row.tls.passthrough === true ? 'passthrough' : 'terminated';
}

/** A load balancer's servers (with weights when any differs from 1) or a weighted service's children. */
function Targets({ row }: { row: Layer4Row }) {
  const servers = row.loadBalancer?.servers ?? [];
  const children = row.weighted?.services ?? [];
  const items = servers.length > 0
    ? servers.map((s) => `${s.address ?? ''}${s.weight !== undefined && s.weight !== 1 ? ` ×${s.weight}` : ''}`)
    : children.map((c) => `${c.name} ×${c.weight ?? 1}`);
  if (items.length === 0) return <>—</>;
  return <ul className="plain small">{items.map((t) => <li key={t}><code>{t}</code></li>)}</ul>;
}

function Routers({ protocol, rows }: { protocol: 'TCP' | 'UDP'; rows: Layer4Row[] }) {
  const id = `gw-${protocol.toLowerCase()}-routers`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{protocol} routers</h2>
      {rows.length === 0 ? <Empty>No {protocol} routers.</Empty> : (
        <table className="list" aria-label={`${protocol} routers`}>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Status</th>{protocol === 'TCP' && <th scope="col">Rule</th>}<th scope="col">Entry points</th>
              <th scope="col">Service</th>{protocol === 'TCP' && <th scope="col">TLS</th>}<th scope="col">Provider</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} data-l4-router={`${protocol.toLowerCase()}:${r.name}`}>
                <th scope="row">{r.name}<Errors row={r} /></th>
                <td><Status status={r.status} /></td>
                {protocol === 'TCP' && <td><code>{r.rule ?? ''}</code></td>}
                <td>{(r.using !== undefined && r.using.length > 0 ? r.using : r.entryPoints ?? []).join(', ') || '—'}</td>
                <td>{r.service ?? ''}</td>
                {protocol === 'TCP' && <td>{tlsMode(r)}</td>}
                <td>{r.provider}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Services({ protocol, rows }: { protocol: 'TCP' | 'UDP'; rows: Layer4Row[] }) {
  const id = `gw-${protocol.toLowerCase()}-services`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{protocol} services</h2>
      {rows.length === 0 ? <Empty>No {protocol} services.</Empty> : (
        <table className="list" aria-label={`${protocol} services`}>
          <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Type</th><th scope="col">Servers</th><th scope="col">Used by</th><th scope="col">Provider</th></tr></thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.name} data-l4-service={`${protocol.toLowerCase()}:${s.name}`}>
                <th scope="row">{s.name}<Errors row={s} /></th>
                <td><Status status={s.status} /></td>
                <td>{s.type ?? ''}</td>
                <td><Targets row={s} /></td>
                <td>{(s.usedBy ?? []).join(', ') || '—'}</td>
                <td>{s.provider}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Middlewares({ rows }: { rows: Layer4Row[] }) {
  return (
    <section aria-labelledby="gw-tcp-mws">
      <h2 id="gw-tcp-mws">TCP middlewares</h2>
      {rows.length === 0 ? <Empty>No TCP middlewares.</Empty> : (
        <table className="list" aria-label="TCP middlewares">
          <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Type</th><th scope="col">Used by</th><th scope="col">Provider</th></tr></thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.name} data-l4-middleware={`tcp:${m.name}`}>
                <th scope="row">{m.name}<Errors row={m} /></th>
                <td><Status status={m.status} /></td>
                <td>{m.type ?? ''}</td>
                <td>{(m.usedBy ?? []).join(', ') || '—'}</td>
                <td>{m.provider}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Layer4Sections({ data }: { data: Layer4Snapshot }) {
  return (
    <>
      <Routers protocol="TCP" rows={data.tcpRouters} />
      <Services protocol="TCP" rows={data.tcpServices} />
      <Middlewares rows={data.tcpMiddlewares} />
      <Routers protocol="UDP" rows={data.udpRouters} />
      <Services protocol="UDP" rows={data.udpServices} />
    </>
  );
}
