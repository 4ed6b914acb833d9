/**
 * The gateway page's TCP and UDP part (Traefik dashboard's TCP and UDP tabs): routers with their rule, entry points,
 * service and TLS mode; services with their type and servers; TCP middlewares — each with the status and errors
 * the gateway's API reports (`/api/tcp/…`, `/api/udp/…`). Sections with nothing configured say so in one line.
 */
import { DashboardTable, joined, type DashboardColumn } from '../components/dashboard-table.tsx';

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
  const tcp = protocol === 'TCP';
  const columns: Array<DashboardColumn<Layer4Row>> = [
    ...(tcp ? [{ header: 'Rule', cell: (r: Layer4Row) => <code>{r.rule ?? ''}</code> }] : []),
    { header: 'Entry points', cell: (r) => joined(r.using !== undefined && r.using.length > 0 ? r.using : r.entryPoints) },
    { header: 'Service', cell: (r) => r.service ?? '' },
    ...(tcp ? [{ header: 'TLS', cell: tlsMode }] : []),
  ];
  return (
    <DashboardTable id={`gw-${protocol.toLowerCase()}-routers`} title={`${protocol} routers`} empty={`No ${protocol} routers.`} rows={rows} columns={columns}
      rowAttributes={(r) => ({ 'data-l4-router': `${protocol.toLowerCase()}:${r.name}` })} />
  );
}

function Services({ protocol, rows }: { protocol: 'TCP' | 'UDP'; rows: Layer4Row[] }) {
  return (
    <DashboardTable id={`gw-${protocol.toLowerCase()}-services`} title={`${protocol} services`} empty={`No ${protocol} services.`} rows={rows}
      columns={[
        { header: 'Type', cell: (s) => s.type ?? '' },
        { header: 'Servers', cell: (s) => <Targets row={s} /> },
        { header: 'Used by', cell: (s) => joined(s.usedBy) },
      ]}
      rowAttributes={(s) => ({ 'data-l4-service': `${protocol.toLowerCase()}:${s.name}` })} />
  );
}

function Middlewares({ rows }: { rows: Layer4Row[] }) {
  return (
    <DashboardTable id="gw-tcp-mws" title="TCP middlewares" empty="No TCP middlewares." rows={rows}
      columns={[{ header: 'Type', cell: (m) => m.type ?? '' }, { header: 'Used by', cell: (m) => joined(m.usedBy) }]}
      rowAttributes={(m) => ({ 'data-l4-middleware': `tcp:${m.name}` })} />
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
