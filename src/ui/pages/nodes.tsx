/** Nodes with their health, and one node's services and checks. */
import type { CatalogNodeServiceList, HealthCheck, Node } from '../../api/types.ts';
import { useBlocking } from '../core/blocking.ts';
import { useChecks } from '../core/catalog.ts';
import { enc } from '../core/http.ts';
import { Link } from '../core/router.ts';
import { worst } from '../core/health.ts';
import { Empty, ErrorBox, HealthBadge, Section } from '../components/states.tsx';

export function NodesPage() {
  const nodes = useBlocking<Node[]>('/v1/catalog/nodes');
  const checks = useChecks();
  return (
    <>
      <h1 tabIndex={-1}>Nodes</h1>
      {checks.error && <ErrorBox error={checks.error} what="health checks" />}
      <Section live={nodes} what="nodes">
        {(list) => list.length === 0 ? <Empty>No nodes are registered.</Empty> : (
          <table className="list" aria-label="Nodes">
            <thead><tr><th scope="col">Node</th><th scope="col">Health</th><th scope="col">Address</th><th scope="col">Services</th><th scope="col">Meta</th></tr></thead>
            <tbody>
              {list.map((n) => {
                const mine = (checks.data ?? []).filter((c) => c.Node === n.Node);
                const services = new Set(mine.filter((c) => c.ServiceID !== '').map((c) => c.ServiceName));
                return (
                  <tr key={n.Node} data-node={n.Node}>
                    <th scope="row"><Link to={`nodes/${enc(n.Node)}`}>{n.Node}</Link></th>
                    <td><HealthBadge status={worst(mine.filter((c) => c.ServiceID === '').map((c) => c.Status))} /></td>
                    <td>{n.Address}</td>
                    <td>{services.size > 0 ? [...services].join(', ') : '—'}</td>
                    <td>{Object.entries(n.Meta ?? {}).map(([k, v]) => <span key={k} className="chip">{k}={v}</span>)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function NodePage({ name }: { name: string }) {
  const services = useBlocking<CatalogNodeServiceList | null>(`/v1/catalog/node-services/${enc(name)}`);
  const checks = useBlocking<HealthCheck[]>(`/v1/health/node/${enc(name)}`);
  return (
    <>
      <p className="crumbs"><Link to="nodes">Nodes</Link> / </p>
      <h1 tabIndex={-1}>{name}</h1>
      <Section live={services} what="node">
        {(data) => data === null ? <Empty>No node named {name}.</Empty> : (
          <>
            <p>Address <code>{data.Node.Address}</code> · datacenter {data.Node.Datacenter}</p>
            <h2>Services</h2>
            {data.Services.length === 0 ? <Empty>No services on this node.</Empty> : (
              <ul className="plain">{data.Services.map((s) => <li key={s.ID}><Link to={`services/${enc(s.Service)}`}>{s.Service}</Link> <span className="muted">({s.ID}, port {s.Port})</span></li>)}</ul>
            )}
          </>
        )}
      </Section>
      <h2>Checks</h2>
      <Section live={checks} what="checks">
        {(list) => list.length === 0 ? <Empty>No checks on this node.</Empty> : (
          <table className="list" aria-label="Node checks">
            <thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Service</th><th scope="col">Output</th></tr></thead>
            <tbody>
              {list.map((c) => (
                <tr key={c.CheckID}>
                  <th scope="row">{c.Name}</th>
                  <td><HealthBadge status={c.Status} /></td>
                  <td>{c.ServiceName || '—'}</td>
                  <td><pre className="output">{c.Output || '—'}</pre></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
