/**
 * Micro-benchmark: CPU time (process.cpuUsage, the best of 7 repetitions) per CompiledRoutes.match() for the rule
 * shapes of rules.bench.ts — 1, 100 and 10,000 `Host(…) && PathPrefix(…)` routers, 1 and 100 `HostRegexp(…) &&
 * PathRegexp(…)` routers — then the same host shapes written in the v2 syntax (`Host(\`a\`, \`b\`)`). CPU time moves
 * less than ops/s on a shared host. `node bench/gateway/rules-cpu.ts [<root of another checkout>]` measures that
 * checkout's src/ instead (a worktree of an older commit, for a same-run before/after; it then skips the v2 rows
 * when that commit has no v2 syntax). Prints ns of CPU per match; asserts only that every request finds its router.
 */
import { resolve } from 'node:path';

const root = resolve(process.argv[2] ?? `${import.meta.dirname}/../..`);
const rules = (await import(`${root}/src/gateway/rules/index.ts`)) as typeof import('../../src/gateway/rules/index.ts');

type Input = import('../../src/gateway/rules/index.ts').RouteInput<number>;
const host = (n: number, v2 = false): Input[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `svc${i}@c`,
    rule: v2 ? `Host(\`svc${i}.example.com\`, \`svc${i}.example.org\`) && PathPrefix(\`/api\`, \`/v1\`)` : `Host(\`svc${i}.example.com\`) && PathPrefix(\`/api\`)`,
    entryPoints: ['web'],
    target: i,
    ...(v2 ? { ruleSyntax: 'v2' as const } : {}),
  }));
const regexp = (n: number): Input[] =>
  Array.from({ length: n }, (_, i) => ({ name: `re${i}@f`, rule: `HostRegexp(\`^svc${i}\\.example\\.(com|org)$\`) && PathRegexp(\`^/api/v[0-9]+/\`)`, entryPoints: ['web'], target: i }));
const requests = (n: number) =>
  Array.from({ length: 64 }, (_, k) => {
    const i = (k * 7919) % n;
    return { method: 'GET', host: `svc${i}.example.com`, path: '/api/v1/items', query: 'page=2', headers: {}, clientIp: '10.0.0.1' };
  });

const rows: Array<[string, Input[], number, number]> = [
  ['1 host router', host(1), 1, 400_000],
  ['100 host routers', host(100), 100, 200_000],
  ['10000 host routers', host(10_000), 10_000, 100_000],
  ['1 regexp router', regexp(1), 1, 50_000],
  ['100 regexp routers', regexp(100), 100, 2_000],
];
if ('V2_MATCHER_NAMES' in rules) rows.push(['1 v2 host router', host(1, true), 1, 400_000], ['100 v2 host routers', host(100, true), 100, 200_000], ['10000 v2 host routers', host(10_000, true), 10_000, 100_000]);

for (const [label, inputs, n, iterations] of rows) {
  const { routes, errors } = rules.compileRoutes(inputs);
  if (errors.size > 0) throw new Error(`${label}: ${[...errors.values()][0]}`);
  const reqs = requests(n);
  let best = Infinity;
  for (let rep = 0; rep < 7; rep++) {
    const start = process.cpuUsage();
    let hits = 0;
    for (let k = 0; k < iterations; k++) if (routes.match('web', reqs[k & 63]!) !== undefined) hits++;
    const used = process.cpuUsage(start);
    if (hits !== iterations) throw new Error(`${label}: ${iterations - hits} requests found no router`);
    best = Math.min(best, ((used.user + used.system) * 1000) / iterations);
  }
  console.log(`${label.padEnd(24)} ${best.toFixed(0).padStart(7)} ns CPU/match`);
}
