/** Services across environments with health summaries; search and filters by tag, health, kind and source. */
import { useId, useState } from 'react';
import { useServiceSummaries, type ServiceSummary } from '../core/catalog.ts';
import { enc } from '../core/http.ts';
import { Link } from '../core/router.ts';
import { Empty, ErrorBox, HealthBadge, Loading } from '../components/states.tsx';

function Select({ label, value, options, onChange }: { label: string; value: string; options: string[]; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <span className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </span>
  );
}

function matches(s: ServiceSummary, f: { search: string; tag: string; health: string; kind: string; source: string }): boolean {
  const q = f.search.trim().toLowerCase();
  if (q && !s.name.toLowerCase().includes(q) && !s.tags.some((t) => t.toLowerCase().includes(q))) return false;
  if (f.tag && !s.tags.includes(f.tag)) return false;
  if (f.health && s.health !== f.health) return false;
  if (f.kind && !s.kinds.includes(f.kind)) return false;
  if (f.source && !s.sources.includes(f.source)) return false;
  return true;
}

export function ServicesPage() {
  const { catalog, checks, summaries } = useServiceSummaries();
  const [filters, setFilters] = useState({ search: '', tag: '', health: '', kind: '', source: '' });
  const searchId = useId();
  const set = (key: keyof typeof filters) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));
  const all = summaries ?? [];
  const tags = [...new Set(all.flatMap((s) => s.tags))].sort();
  const kinds = [...new Set(all.flatMap((s) => s.kinds))].sort();
  const sources = [...new Set(all.flatMap((s) => s.sources))].sort();
  const shown = all.filter((s) => matches(s, filters));
  return (
    <>
      <h1 tabIndex={-1}>Services</h1>
      <div className="filters" role="search">
        <span className="field grow">
          <label htmlFor={searchId}>Search</label>
          <input id={searchId} type="search" placeholder="name or tag" value={filters.search} onChange={(e) => set('search')(e.target.value)} />
        </span>
        <Select label="Health" value={filters.health} options={['passing', 'warning', 'critical']} onChange={set('health')} />
        <Select label="Tag" value={filters.tag} options={tags} onChange={set('tag')} />
        <Select label="Kind" value={filters.kind} options={kinds} onChange={set('kind')} />
        <Select label="Source" value={filters.source} options={sources} onChange={set('source')} />
      </div>
      {catalog.names.error && <ErrorBox error={catalog.names.error} what="services" />}
      {checks.error && <ErrorBox error={checks.error} what="health checks" />}
      {catalog.instancesError && <ErrorBox error={catalog.instancesError} what="service instances" />}
      {summaries === undefined ? (
        catalog.names.loading ? <Loading what="services" /> : null
      ) : all.length === 0 ? (
        <Empty>No services are registered yet.</Empty>
      ) : shown.length === 0 ? (
        <Empty>No service matches these filters.</Empty>
      ) : (
        <table className="list" aria-label="Services">
          <thead>
            <tr><th scope="col">Service</th><th scope="col">Health</th><th scope="col">Checks</th><th scope="col">Instances</th><th scope="col">Kind</th><th scope="col">Source</th><th scope="col">Tags</th></tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.name} data-service={s.name} data-health={s.health}>
                <th scope="row"><Link to={`services/${enc(s.name)}`}>{s.name}</Link></th>
                <td><HealthBadge status={s.health} /></td>
                <td className="counts">
                  <span className="count-passing">{s.counts.passing} passing</span>
                  {s.counts.warning > 0 && <span className="count-warning">{s.counts.warning} warning</span>}
                  {s.counts.critical > 0 && <span className="count-critical">{s.counts.critical} critical</span>}
                </td>
                <td>{catalog.instances ? s.instances.length : '…'}</td>
                <td>{s.kinds.join(', ')}</td>
                <td>{s.sources.map((src) => <span key={src} className="chip">{src}</span>)}</td>
                <td>{s.tags.map((t) => <span key={t} className="chip tag">{t}</span>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
