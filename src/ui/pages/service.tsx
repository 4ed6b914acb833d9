/**
 * One service: its instances with their checks (output included), tags and meta, upstreams and downstreams with
 * the intention decision between each pair (asked of the server), and a topology picture of the same.
 */
import type { CatalogService, ServiceEntry } from '../../api/types.ts';
import { useBlocking } from '../core/blocking.ts';
import { useCatalog } from '../core/catalog.ts';
import { ApiError, enc } from '../core/http.ts';
import { useDecisions, useIntentions, type Decisions, type Intention } from '../core/intentions.ts';
import { Link } from '../core/router.ts';
import { Topology } from '../components/topology.tsx';
import { worst } from '../core/health.ts';
import { Empty, ErrorBox, HealthBadge, Loading } from '../components/states.tsx';

function upstreamNames(proxy: CatalogService): string[] {
  return (proxy.ServiceProxy?.Upstreams ?? []).map((u) => (typeof u.DestinationName === 'string' ? u.DestinationName : '')).filter((n) => n !== '');
}

/** Neighbours from the proxies' upstream lists, completed by intentions naming the service (a mesh without sidecars yet). */
export function neighbours(name: string, instances: Map<string, CatalogService[]> | undefined, intentions: readonly Intention[] | undefined) {
  const up = new Set<string>();
  const down = new Set<string>();
  for (const list of instances?.values() ?? []) {
    for (const i of list) {
      if (i.ServiceKind !== 'connect-proxy') continue;
      const owner = i.ServiceProxy?.DestinationServiceName ?? '';
      const ups = upstreamNames(i);
      if (owner === name) for (const u of ups) up.add(u);
      if (ups.includes(name) && owner !== '') down.add(owner);
    }
  }
  for (const it of intentions ?? []) {
    if (it.DestinationName === name && it.SourceName !== '*' && it.SourceName !== name) down.add(it.SourceName);
    if (it.SourceName === name && it.DestinationName !== '*' && it.DestinationName !== name) up.add(it.DestinationName);
  }
  return { upstreams: [...up].sort(), downstreams: [...down].sort() };
}

function Decision({ decisions, source, destination }: { decisions: Decisions; source: string; destination: string }) {
  const d = decisions.get(`${source}→${destination}`);
  if (d === undefined) return <span className="muted">checking…</span>;
  if (d instanceof Error) return <span className="muted">unknown ({d instanceof ApiError ? d.text : d.message})</span>;
  return d ? <span className="badge allow">allowed</span> : <span className="badge deny">denied</span>;
}

function KeyValues({ title, values }: { title: string; values: Record<string, string> }) {
  const entries = Object.entries(values);
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {entries.length === 0 ? <Empty>None.</Empty> : (
        <dl className="kv-list">{entries.map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>
      )}
    </section>
  );
}

export function ServicePage({ name }: { name: string }) {
  const health = useBlocking<ServiceEntry[]>(`/v1/health/service/${enc(name)}`);
  const catalog = useCatalog();
  const intentions = useIntentions();
  const { upstreams, downstreams } = neighbours(name, catalog.instances, intentions.data);
  const pairs = [...downstreams.map((d) => [d, name] as const), ...upstreams.map((u) => [name, u] as const)];
  const decisions = useDecisions(pairs, intentions.index);
  const entries = health.data ?? [];
  const tags = [...new Set(entries.flatMap((e) => e.Service.Tags ?? []))].sort();
  const meta: Record<string, string> = {};
  for (const e of entries) Object.assign(meta, e.Service.Meta ?? {});
  return (
    <>
      <p className="crumbs"><Link to="services">Services</Link> / </p>
      <h1 tabIndex={-1}>{name}</h1>
      {health.error && <ErrorBox error={health.error} what={`service ${name}`} />}
      {health.loading && health.data === undefined ? <Loading what="instances" /> : (
        <>
          <section aria-labelledby="instances-h">
            <h2 id="instances-h">Instances</h2>
            {entries.length === 0 ? <Empty>No instance of {name} is registered.</Empty> : entries.map((e) => {
              const status = worst(e.Checks.map((c) => c.Status));
              return (
                <article key={`${e.Node.Node}/${e.Service.ID}`} className="card instance" data-instance={e.Service.ID} data-health={status}>
                  <h3>
                    <HealthBadge status={status} /> {e.Service.ID}
                    <span className="muted"> on <Link to={`nodes/${enc(e.Node.Node)}`}>{e.Node.Node}</Link> — {e.Service.Address || e.Node.Address}:{e.Service.Port}</span>
                  </h3>
                  {e.Checks.length === 0 ? <Empty>No checks.</Empty> : (
                    <table className="list checks" aria-label={`Checks of ${e.Service.ID}`}>
                      <thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Type</th><th scope="col">Output</th></tr></thead>
                      <tbody>
                        {e.Checks.map((c) => (
                          <tr key={c.CheckID} data-check={c.CheckID} data-status={c.Status}>
                            <th scope="row">{c.Name}<div className="muted small">{c.CheckID}{c.ServiceID === '' ? ' (node)' : ''}</div></th>
                            <td><HealthBadge status={c.Status} /></td>
                            <td>{c.Type || '—'}</td>
                            <td><pre className="output">{c.Output || c.Notes || '—'}</pre></td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </article>
              );
            })}
          </section>
          <div className="columns">
            <section aria-labelledby="tags-h">
              <h2 id="tags-h">Tags</h2>
              {tags.length === 0 ? <Empty>No tags.</Empty> : <p>{tags.map((t) => <span key={t} className="chip tag">{t}</span>)}</p>}
            </section>
            <KeyValues title="Meta" values={meta} />
          </div>
        </>
      )}
      <section aria-labelledby="topology-h">
        <h2 id="topology-h">Topology</h2>
        {intentions.error && <ErrorBox error={intentions.error} what="intentions" />}
        {upstreams.length === 0 && downstreams.length === 0 ? (
          <Empty>{catalog.instances === undefined ? 'Reading the mesh…' : 'No upstream or downstream service: no proxy lists one and no intention names this service.'}</Empty>
        ) : (
          <>
            <Topology name={name} upstreams={upstreams} downstreams={downstreams} decisions={decisions} />
            <div className="columns">
              <section aria-labelledby="down-h">
                <h3 id="down-h">Downstreams (call {name})</h3>
                {downstreams.length === 0 && <Empty>None.</Empty>}
                <ul className="plain">{downstreams.map((d) => <li key={d}><Link to={`services/${enc(d)}`}>{d}</Link> → {name}: <Decision decisions={decisions} source={d} destination={name} /></li>)}</ul>
              </section>
              <section aria-labelledby="up-h">
                <h3 id="up-h">Upstreams (called by {name})</h3>
                {upstreams.length === 0 && <Empty>None.</Empty>}
                <ul className="plain">{upstreams.map((u) => <li key={u}>{name} → <Link to={`services/${enc(u)}`}>{u}</Link>: <Decision decisions={decisions} source={name} destination={u} /></li>)}</ul>
              </section>
            </div>
          </>
        )}
      </section>
    </>
  );
}
