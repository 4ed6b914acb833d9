/**
 * Micro-benchmark: CompiledRoutes.match() with 1, 100 and 10,000 host-keyed routers (Traefik's common shape:
 * `Host(…) && PathPrefix(…)`), for the indexed table and, as the in-run reference, the linear scan Traefik's muxer
 * does; then 1 and 100 regexp routers (`HostRegexp(…) && PathRegexp(…)`, which no index can narrow), where the
 * Go-regexp engine's cost per test shows. Prints ops/s; asserts nothing. Run: node bench/gateway/rules.bench.ts
 */
import { compileRoutes, compileRoutesLinear, type MatchRequest, type RouteInput } from '../../src/gateway/rules/index.ts';

function routesFor(n: number): RouteInput<number>[] {
  const out: RouteInput<number>[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ name: `svc${i}@consulcatalog`, rule: `Host(\`svc${i}.example.com\`) && PathPrefix(\`/api\`)`, entryPoints: ['web'], target: i });
  }
  return out;
}

function regexpRoutesFor(n: number): RouteInput<number>[] {
  const out: RouteInput<number>[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ name: `re${i}@file`, rule: `HostRegexp(\`^svc${i}\\.example\\.(com|org)$\`) && PathRegexp(\`^/api/v[0-9]+/\`)`, entryPoints: ['web'], target: i });
  }
  return out;
}

function requestsFor(n: number): MatchRequest[] {
  const reqs: MatchRequest[] = [];
  for (let k = 0; k < 64; k++) {
    const i = (k * 7919) % n;
    reqs.push({ method: 'GET', host: `svc${i}.example.com`, path: '/api/v1/items', query: 'page=2', headers: {}, clientIp: '10.0.0.1' });
  }
  return reqs;
}

function measure(label: string, fn: (i: number) => unknown, minMs = 400): void {
  for (let i = 0; i < 2000; i++) fn(i); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 1000; i++) fn(ops + i);
    ops += 1000;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  console.log(`${label.padEnd(44)} ${Math.round((ops / elapsed) * 1000).toLocaleString('en-US').padStart(14)} ops/s`);
}

for (const n of [1, 100, 10_000]) {
  const inputs = routesFor(n);
  const reqs = requestsFor(n);
  const indexed = compileRoutes(inputs).routes;
  const linear = compileRoutesLinear(inputs).routes;
  let sink = 0;
  measure(`indexed match, ${n} host routers`, (i) => (sink += indexed.match('web', reqs[i & 63]!)?.target ?? 0));
  measure(`linear scan (Traefik muxer), ${n} host routers`, (i) => (sink += linear.match('web', reqs[i & 63]!)?.target ?? 0), n >= 10_000 ? 1000 : 400);
  if (sink === -1) console.log(sink);
}

for (const n of [1, 100]) {
  const inputs = regexpRoutesFor(n);
  const reqs = requestsFor(n);
  const indexed = compileRoutes(inputs).routes;
  let sink = 0;
  measure(`indexed match, ${n} regexp routers`, (i) => (sink += indexed.match('web', reqs[i & 63]!)?.target ?? 0));
  if (sink === -1) console.log(sink);
}
