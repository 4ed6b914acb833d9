/**
 * What every list and item endpoint of the dashboard API shares (Traefik's pkg/api handler.go): JSON answers, the
 * `{"message": …}` error body, overview counts, and the list query — `search`, `status`, `serviceName`,
 * `middlewareName`, `direction`, `page`, `per_page` — with the `X-Next-Page` header.
 */
import type { ResponseWriter } from '../http/types.ts';
import { STATUS_DISABLED, STATUS_WARNING } from '../runtime/info.ts';
import { respond } from '../runtime/internal.ts';

export type Row = Record<string, unknown> & { name: string };

export function json(rw: ResponseWriter, status: number, value: unknown, extra?: Record<string, string>): Promise<void> {
  return respond(rw, status, 'application/json', `${JSON.stringify(value)}\n`, extra);
}

/** Traefik's writeError: a JSON `{"message": …}` body with a text content type (Go's http.Error). */
export function apiError(rw: ResponseWriter, status: number, message: string): Promise<void> {
  return respond(rw, status, 'text/plain; charset=utf-8', `${JSON.stringify({ message })}\n`, { 'x-content-type-options': 'nosniff' });
}

export function counts(items: Iterable<{ status: string }>): { total: number; warnings: number; errors: number } {
  let total = 0;
  let warnings = 0;
  let errors = 0;
  for (const item of items) {
    total++;
    if (item.status === STATUS_WARNING) warnings++;
    else if (item.status === STATUS_DISABLED) errors++;
  }
  return { total, warnings, errors };
}

export const ZERO = { total: 0, warnings: 0, errors: 0 };

export interface ListQuery {
  search: string;
  status: string;
  serviceName: string;
  middlewareName: string;
  direction: string;
  page: number;
  perPage: number;
}

export function parseListQuery(query: URLSearchParams): ListQuery | string {
  const page = query.has('page') ? Number(query.get('page')) : 1;
  const perPage = query.has('per_page') ? Number(query.get('per_page')) : 100;
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1) return `invalid request: page: ${query.get('page') ?? 1}, per_page: ${query.get('per_page') ?? 100}`;
  return {
    search: query.get('search') ?? '',
    status: query.get('status') ?? '',
    serviceName: query.get('serviceName') ?? '',
    middlewareName: query.get('middlewareName') ?? '',
    direction: query.get('direction') ?? 'asc',
    page,
    perPage,
  };
}

export function list(rw: ResponseWriter, rows: Row[], q: ListQuery): Promise<void> {
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (q.direction === 'desc') rows.reverse();
  const start = (q.page - 1) * q.perPage;
  if (start !== 0 && start >= rows.length) return apiError(rw, 400, `invalid request: page: ${q.page}, per_page: ${q.perPage}`);
  const end = Math.min(rows.length, start + q.perPage);
  return json(rw, 200, rows.slice(start, end), { 'x-next-page': String(end < rows.length ? q.page + 1 : 1) });
}

export function keep(name: string, status: string, q: ListQuery, extra = ''): boolean {
  if (q.status && status !== q.status) return false;
  if (q.search && !name.includes(q.search) && !extra.includes(q.search)) return false;
  return true;
}

/** The kind of a service or middleware block (`loadbalancer`, `weighted`, `stripprefix`, a plugin's name). */
export function kindOf(config: Record<string, unknown>): string | undefined {
  const key = Object.keys(config)[0];
  if (key === undefined) return undefined;
  if (key === 'plugin') {
    const plugin = config.plugin as Record<string, unknown> | null;
    const name = plugin ? Object.keys(plugin)[0] : undefined;
    return name?.toLowerCase();
  }
  return key.toLowerCase();
}
