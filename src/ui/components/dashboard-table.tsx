/**
 * One table of gateway objects (the Traefik dashboard's router, service and middleware lists, HTTP, TCP and UDP alike):
 * a heading, the "nothing configured" line when empty, else a row per object — its name with the errors the API
 * reports, its status badge, the columns the caller names, and its provider last. Every list reads the same way.
 */
import type { ReactNode } from 'react';
import { Empty } from './states.tsx';

/** What every object the gateway's API lists carries (`/api/http/routers`, `/api/tcp/services`, …). */
export interface DashboardObject {
  name: string;
  status?: string;
  provider?: string;
  error?: string[];
}

export interface DashboardColumn<Row> {
  header: string;
  cell: (row: Row) => ReactNode;
  /** The cell's class, when it depends on the row (a missing rate is muted). */
  className?: (row: Row) => string | undefined;
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

/** A list joined by commas, or the dash an empty cell shows. */
export function joined(items: readonly string[] | undefined): string {
  return (items ?? []).join(', ') || '—';
}

export function DashboardTable<Row extends DashboardObject>({ id, title, empty, rows, columns, rowAttributes }: {
  /** The heading's id, which the section is labelled by. */
  id: string;
  title: string;
  /** The line shown when nothing is configured. */
  empty: string;
  rows: readonly Row[];
  /** The columns between Status and Provider. */
  columns: ReadonlyArray<DashboardColumn<Row>>;
  /** `data-*` attributes of a row, which the browser tests find rows by. */
  rowAttributes?: (row: Row) => Record<`data-${string}`, string>;
}) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {rows.length === 0 ? <Empty>{empty}</Empty> : (
        <table className="list" aria-label={title}>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Status</th>
              {columns.map((c) => <th key={c.header} scope="col">{c.header}</th>)}
              <th scope="col">Provider</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name} {...rowAttributes?.(row)}>
                <th scope="row">{row.name}<Errors row={row} /></th>
                <td><Status status={row.status} /></td>
                {columns.map((c) => <td key={c.header} className={c.className?.(row)}>{c.cell(row)}</td>)}
                <td>{row.provider}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
