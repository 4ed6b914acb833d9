/**
 * Reads the request counters of the gateway's Prometheus exposition (Traefik's names:
 * `traefik_{entrypoint,router,service}_requests_total{code,…}`) and turns two readings into per-second rates.
 */
export interface Counters {
  /** `entrypoint:web`, `service:api@file`, `router:web@file` → totals. */
  readonly totals: Map<string, { requests: number; errors: number }>;
  readonly at: number;
}

const LINE = /^traefik_(entrypoint|router|service)_requests_total\{([^}]*)\}\s+([0-9.eE+-]+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

export function parseCounters(text: string, at: number): Counters {
  const totals = new Map<string, { requests: number; errors: number }>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const scope = m[1]!;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const name = labels[scope];
    if (name === undefined) continue;
    const value = Number(m[3]);
    const key = `${scope}:${name}`;
    const row = totals.get(key) ?? { requests: 0, errors: 0 };
    row.requests += value;
    if (Number(labels.code ?? 0) >= 500) row.errors += value;
    totals.set(key, row);
  }
  return { totals, at };
}

export interface Rate {
  readonly requests: number;
  readonly errors: number;
  readonly total: number;
}

/** Per-second rates between two readings; a counter that went down (gateway restart) counts from zero. */
export function rates(before: Counters | undefined, after: Counters): Map<string, Rate> {
  const out = new Map<string, Rate>();
  const seconds = before ? Math.max(0.001, (after.at - before.at) / 1000) : 0;
  for (const [key, now] of after.totals) {
    const then = before?.totals.get(key);
    const dr = then && now.requests >= then.requests ? now.requests - then.requests : now.requests;
    const de = then && now.errors >= then.errors ? now.errors - then.errors : now.errors;
    out.set(key, { requests: seconds > 0 ? dr / seconds : 0, errors: seconds > 0 ? de / seconds : 0, total: now.requests });
  }
  return out;
}
