/**
 * Change propagation to many watchers: N blocking queries (meshgate: `GET /v1/kv/<key>?index=&wait=60s`; etcd: N
 * watch streams on the v3 HTTP gateway) are parked on one key, then one write is made and, for each watcher, the
 * time from the write's send and from its acknowledgement until that watcher's response arrives is recorded.
 * The client is one Node process, so the tail includes the client's own work to take 1,000 responses in; it is the
 * same client for both peers.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { b64 } from './etcd.ts';
import { percentile, send } from './load.ts';

export interface WatchRound {
  watchers: number;
  parkedBy: 'metric' | 'fixed-1s' | 'created-events';
  fromAck: number[];
  fromSend: number[];
}

export interface WatchSummary {
  watchers: number;
  rounds: number;
  parkedBy: string;
  fromAck: { p50: number; p99: number; max: number };
  fromSend: { p50: number; p99: number; max: number };
}

export function summarize(rounds: WatchRound[]): WatchSummary {
  const pick = (f: (r: WatchRound) => number[]) => {
    const all = rounds.flatMap(f).sort((a, b) => a - b);
    return { p50: percentile(all, 0.5), p99: percentile(all, 0.99), max: all[all.length - 1] ?? Number.NaN };
  };
  return {
    watchers: rounds[0]?.watchers ?? 0,
    rounds: rounds.length,
    parkedBy: [...new Set(rounds.map((r) => r.parkedBy))].join(','),
    fromAck: pick((r) => r.fromAck),
    fromSend: pick((r) => r.fromSend),
  };
}

async function openBlockingQueries(control: Pool): Promise<number | undefined> {
  const r = await send(control, 'GET', '/v1/agent/metrics?format=prometheus');
  if (r.status !== 200) return undefined;
  const m = /^meshgate_blocking_queries_open(?:\{[^}]*\})?\s+(\d+(?:\.\d+)?)/m.exec(r.text);
  return m ? Number(m[1]) : undefined;
}

export async function meshgateWatchRound(url: string, watchers: number, round: number): Promise<WatchRound> {
  const key = 'bench/watched';
  const control = new Pool(url, { connections: 4 });
  const pool = new Pool(url, { connections: watchers + 8, pipelining: 1 });
  try {
    await send(control, 'PUT', `/v1/kv/${key}`, `round-${round}-start`);
    const first = await send(control, 'GET', `/v1/kv/${key}`);
    const index = Number(first.headers['x-consul-index']);
    const arrivals = Array.from({ length: watchers }, async () => {
      const res = await pool.request({ method: 'GET', path: `/v1/kv/${key}?index=${index}&wait=60s` });
      const at = performance.now();
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes(b64(`round-${round}-changed`))) {
        throw new Error(`watcher woke without the change (status ${res.statusCode}): ${text.slice(0, 200)}`);
      }
      return at;
    });
    // Parked means the server counts them as waiting; without the metrics endpoint, wait a fixed second.
    let parkedBy: WatchRound['parkedBy'] = 'metric';
    const deadline = Date.now() + 30_000;
    for (;;) {
      const open = await openBlockingQueries(control);
      if (open === undefined) {
        parkedBy = 'fixed-1s';
        await new Promise((r) => setTimeout(r, 1000));
        break;
      }
      if (open >= watchers) break;
      if (Date.now() > deadline) throw new Error(`only ${open} of ${watchers} blocking queries parked`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const sentAt = performance.now();
    const put = await send(control, 'PUT', `/v1/kv/${key}`, `round-${round}-changed`);
    const ackAt = performance.now();
    if (put.status !== 200 || put.text.trim() !== 'true') throw new Error(`write not acknowledged: ${put.status} ${put.text}`);
    const times = await Promise.all(arrivals);
    return { watchers, parkedBy, fromAck: times.map((t) => t - ackAt), fromSend: times.map((t) => t - sentAt) };
  } finally {
    await pool.close();
    await control.close();
  }
}

export async function etcdWatchRound(url: string, watchers: number, round: number): Promise<WatchRound> {
  const key = b64('bench/watched');
  const control = new Pool(url, { connections: 4 });
  const pool = new Pool(url, { connections: watchers + 8, pipelining: 1 });
  const bodies: Array<{ destroy(): void }> = [];
  try {
    let created = 0;
    let markCreated!: () => void;
    const allCreated = new Promise<void>((r) => (markCreated = r));
    const arrivals = Array.from({ length: watchers }, async () => {
      const res = await pool.request({ method: 'POST', path: '/v3/watch', body: JSON.stringify({ create_request: { key } }) });
      if (res.statusCode !== 200) throw new Error(`etcd watch refused: ${res.statusCode}`);
      bodies.push(res.body);
      let seen = '';
      let isCreated = false;
      for await (const chunk of res.body) {
        seen += (chunk as Buffer).toString();
        if (!isCreated && seen.includes('"created":true')) {
          isCreated = true;
          if (++created === watchers) markCreated();
        }
        if (seen.includes('"events"')) {
          const at = performance.now();
          res.body.destroy();
          return at;
        }
      }
      throw new Error('etcd watch stream ended without an event');
    });
    await Promise.race([allCreated, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${created} etcd watches created`)), 30_000))]);
    const sentAt = performance.now();
    const put = await send(control, 'POST', '/v3/kv/put', JSON.stringify({ key, value: b64(`round-${round}-changed`) }));
    const ackAt = performance.now();
    if (put.status !== 200) throw new Error(`etcd put failed: ${put.status} ${put.text}`);
    const times = await Promise.all(arrivals);
    return { watchers, parkedBy: 'created-events', fromAck: times.map((t) => t - ackAt), fromSend: times.map((t) => t - sentAt) };
  } finally {
    for (const b of bodies) b.destroy();
    await pool.destroy();
    await control.close();
  }
}
