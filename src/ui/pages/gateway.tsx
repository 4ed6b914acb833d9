/**
 * The gateway (the Traefik dashboard's role): overview, entry points, HTTP routers, services and middlewares with
 * their status and errors, the TCP and UDP ones (gateway-layer4.tsx), providers, and request/error rates from the
 * Prometheus counters. Traefik's API has no blocking queries, so — as Traefik's own dashboard does — this page reads it again every few seconds, and only
 * while the tab is visible.
 */
import { useEffect, useId, useState } from 'react';
import { ApiError, gatewayFetch } from '../core/http.ts';
import { gatewayBase, setBackendUrl, SERVED_BY } from '../core/mount.ts';
import { parseCounters, rates, type Counters, type Rate } from '../core/prometheus.ts';
import { Empty, ErrorBox, Loading } from '../components/states.tsx';
import { DashboardTable, joined } from '../components/dashboard-table.tsx';
import { Layer4Sections, type Layer4Row, type Layer4Snapshot } from './gateway-layer4.tsx';

const REFRESH_MS = 5000;

interface Row {
  name: string;
  status?: string;
  provider?: string;
  error?: string[];
  rule?: string;
  service?: string;
  type?: string;
  address?: string;
  entryPoints?: string[];
  middlewares?: string[];
  usedBy?: string[];
  serverStatus?: Record<string, string>;
}

interface Overview {
  http: Record<string, { total: number; warnings: number; errors: number }>;
  tcp?: Record<string, { total: number; warnings: number; errors: number }>;
  udp?: Record<string, { total: number; warnings: number; errors: number }>;
  features?: { metrics?: string; tracing?: string; accessLog?: boolean };
  providers?: string[];
}

interface Snapshot extends Layer4Snapshot {
  overview: Overview;
  entrypoints: Row[];
  routers: Row[];
  services: Row[];
  middlewares: Row[];
  rates: Map<string, Rate> | undefined;
  counters: Counters | undefined;
}

async function json<T>(path: string, signal: AbortSignal): Promise<T> {
  return (await (await gatewayFetch(path, signal)).json()) as T;
}

function useGateway(base: string | undefined): { data?: Snapshot; error?: ApiError; loading: boolean } {
  const [state, setState] = useState<{ data?: Snapshot; error?: ApiError; loading: boolean }>({ loading: true });
  useEffect(() => {
    if (base === undefined) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let previous: Counters | undefined;
    const load = async () => {
      try {
        const [
          overview, entrypoints, routers, services, middlewares, tcpRouters, tcpServices, tcpMiddlewares, udpRouters, udpServices,
        ] = await Promise.all([
          json<Overview>('/api/overview', controller.signal),
          json<Row[]>('/api/entrypoints', controller.signal),
          json<Row[]>('/api/http/routers', controller.signal),
          json<Row[]>('/api/http/services', controller.signal),
          json<Row[]>('/api/http/middlewares', controller.signal),
          json<Layer4Row[]>('/api/tcp/routers', controller.signal),
          json<Layer4Row[]>('/api/tcp/services', controller.signal),
          json<Layer4Row[]>('/api/tcp/middlewares', controller.signal),
          json<Layer4Row[]>('/api/udp/routers', controller.signal),
          json<Layer4Row[]>('/api/udp/services', controller.signal),
        ]);
        let counters: Counters | undefined;
        let rated: Map<string, Rate> | undefined;
        try {
          counters = parseCounters(await (await gatewayFetch('/metrics', controller.signal)).text(), Date.now());
          rated = rates(previous, counters);
          previous = counters;
        } catch {
          // Metrics are optional (metrics.prometheus off): the page shows the rest.
        }
        const layer4 = { tcpRouters, tcpServices, tcpMiddlewares, udpRouters, udpServices };
        setState({ data: { overview, entrypoints, routers, services, middlewares, ...layer4, rates: rated, counters }, loading: false });
      } catch (err) {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, loading: false, error: err instanceof ApiError ? err : new ApiError(0, String(err), '/api') }));
      }
      schedule();
    };
    const schedule = () => {
      if (controller.signal.aborted) return;
      timer = setTimeout(() => {
        if (document.visibilityState === 'visible') void load();
        else document.addEventListener('visibilitychange', () => void load(), { once: true, signal: controller.signal });
      }, REFRESH_MS);
    };
    void load();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [base]);
  return state;
}

function RateText({ rate }: { rate: Rate | undefined }) {
  if (!rate) return <>—</>;
  return <>{rate.requests.toFixed(1)}/s{rate.errors > 0 && <span className="count-critical"> {rate.errors.toFixed(1)} err/s</span>} <span className="muted small">({rate.total} total)</span></>;
}

function RateCell({ rate }: { rate: Rate | undefined }) {
  return <td className={rate ? undefined : 'muted'}><RateText rate={rate} /></td>;
}

/** A load balancer's servers with the health the API reports for each. */
function ServerStatus({ row }: { row: Row }) {
  const servers = Object.entries(row.serverStatus ?? {});
  if (servers.length === 0) return <>—</>;
  return <ul className="plain small">{servers.map(([url, st]) => <li key={url}><code>{url}</code> {st}</li>)}</ul>;
}

function Counts({ title, counts }: { title: string; counts: { total: number; warnings: number; errors: number } | undefined }) {
  return (
    <div className="stat">
      <span className="stat-title">{title}</span>
      <span className="stat-value">{counts?.total ?? 0}</span>
      <span className="small">{counts?.warnings ?? 0} warnings · {counts?.errors ?? 0} errors</span>
    </div>
  );
}

function GatewayUrl() {
  const id = useId();
  const [value, setValue] = useState(gatewayBase() ?? '');
  return (
    <form className="card narrow" onSubmit={(e) => { e.preventDefault(); setBackendUrl('gateway', value); location.reload(); }}>
      <p>This page was served by {SERVED_BY === 'server' ? 'the server' : 'the gateway'}. Set the gateway's API address (its <code>traefik</code> entry point),
        or open the dashboard the gateway serves at <code>/dashboard/</code>.</p>
      <span className="field"><label htmlFor={id}>Gateway API URL</label><input id={id} value={value} placeholder="http://127.0.0.1:8080" onChange={(e) => setValue(e.target.value)} /></span>
      <button type="submit">Use this gateway</button>
    </form>
  );
}

export function GatewayPage() {
  const base = gatewayBase();
  const { data, error, loading } = useGateway(base);
  if (base === undefined) {
    return (
      <>
        <h1 tabIndex={-1}>Gateway</h1>
        <GatewayUrl />
      </>
    );
  }
  const rate = (scope: string, name: string) => data?.rates?.get(`${scope}:${name}`);
  return (
    <>
      <h1 tabIndex={-1}>Gateway</h1>
      {error && <ErrorBox error={error} what="the gateway's state" />}
      {error && SERVED_BY === 'server' && <GatewayUrl />}
      {loading && !data ? <Loading what="the gateway" /> : data && (
        <>
          <section aria-labelledby="gw-overview" className="stats">
            <h2 id="gw-overview" className="sr-only">Overview</h2>
            <Counts title="HTTP routers" counts={data.overview.http.routers} />
            <Counts title="HTTP services" counts={data.overview.http.services} />
            <Counts title="HTTP middlewares" counts={data.overview.http.middlewares} />
            <Counts title="TCP routers" counts={data.overview.tcp?.routers} />
            <Counts title="TCP services" counts={data.overview.tcp?.services} />
            <Counts title="UDP routers" counts={data.overview.udp?.routers} />
            <Counts title="UDP services" counts={data.overview.udp?.services} />
            <div className="stat">
              <span className="stat-title">Providers</span>
              <span className="small">{(data.overview.providers ?? []).join(', ') || 'none'}</span>
              <span className="small">metrics: {data.overview.features?.metrics || 'off'}</span>
            </div>
          </section>
          <section aria-labelledby="gw-eps">
            <h2 id="gw-eps">Entry points</h2>
            {data.entrypoints.length === 0 ? <Empty>No entry points.</Empty> : (
              <table className="list" aria-label="Entry points">
                <thead><tr><th scope="col">Name</th><th scope="col">Address</th><th scope="col">Requests</th></tr></thead>
                <tbody>{data.entrypoints.map((ep) => <tr key={ep.name}><th scope="row">{ep.name}</th><td><code>{ep.address ?? ''}</code></td><RateCell rate={rate('entrypoint', ep.name)} /></tr>)}</tbody>
              </table>
            )}
          </section>
          <DashboardTable id="gw-routers" title="HTTP routers" empty="No routers." rows={data.routers}
            columns={[
              { header: 'Rule', cell: (r) => <code>{r.rule ?? ''}</code> },
              { header: 'Entry points', cell: (r) => (r.entryPoints ?? []).join(', ') },
              { header: 'Service', cell: (r) => r.service ?? '' },
              { header: 'Middlewares', cell: (r) => joined(r.middlewares) },
            ]}
            rowAttributes={(r) => ({ 'data-router': r.name })} />
          <DashboardTable id="gw-services" title="HTTP services" empty="No services." rows={data.services}
            columns={[
              { header: 'Type', cell: (s) => s.type ?? '' },
              { header: 'Servers', cell: (s) => <ServerStatus row={s} /> },
              { header: 'Requests', cell: (s) => <RateText rate={rate('service', s.name)} />, className: (s) => (rate('service', s.name) ? undefined : 'muted') },
            ]}
            rowAttributes={(s) => ({ 'data-gateway-service': s.name })} />
          <DashboardTable id="gw-mws" title="HTTP middlewares" empty="No middlewares." rows={data.middlewares}
            columns={[{ header: 'Type', cell: (m) => m.type ?? '' }, { header: 'Used by', cell: (m) => joined(m.usedBy) }]} />
          <Layer4Sections data={data} />
        </>
      )}
    </>
  );
}
