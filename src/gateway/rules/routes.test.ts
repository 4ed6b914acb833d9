import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slicer } from '../../lib/slices.ts';
import { compileRoutes, compileRoutesSliced, compileRoutesLinear, defaultPriority, MAX_USER_PRIORITY, type RouteInput } from './index.ts';
import { requestFor } from './testing.ts';

test('default priority is the rule length in bytes; longer rules are tried first', () => {
  assert.equal(defaultPriority('Host(`example.com`)'), 19);
  assert.equal(defaultPriority('Path(`/é`)'), 11);
  const { routes } = compileRoutes([
    { name: 'short', rule: 'PathPrefix(`/`)', entryPoints: [], target: 'short' },
    { name: 'long', rule: 'PathPrefix(`/api`)', entryPoints: [], target: 'long' },
  ]);
  assert.equal(routes.match('web', requestFor('http://x/api/v1'))?.name, 'long');
  assert.equal(routes.match('web', requestFor('http://x/other'))?.name, 'short');
});

test('an explicit priority wins over length; 0 means the default', () => {
  const { routes } = compileRoutes([
    { name: 'generic', rule: 'HostRegexp(`^.+\\.example\\.com$`)', entryPoints: [], target: 1 },
    { name: 'api', rule: 'Host(`api.example.com`)', priority: 100, entryPoints: [], target: 2 },
    { name: 'zero', rule: 'Host(`api.example.com`) && Path(`/z`)', priority: 0, entryPoints: [], target: 3 },
  ]);
  assert.equal(routes.match('web', requestFor('http://api.example.com/'))?.name, 'api');
  assert.equal(routes.match('web', requestFor('http://www.example.com/'))?.name, 'generic');
  // 'zero' has priority = its length (38) < 100, so 'api' still wins for /z.
  assert.equal(routes.match('web', requestFor('http://api.example.com/z'))?.name, 'api');
});

test('equal priorities: deterministic order by router name, whatever the input order', () => {
  const a: RouteInput<string> = { name: 'b@file', rule: 'PathPrefix(`/`)', priority: 5, entryPoints: [], target: 'b' };
  const b: RouteInput<string> = { name: 'a@file', rule: 'PathPrefix(`/x`)', priority: 5, entryPoints: [], target: 'a' };
  for (const order of [[a, b], [b, a]]) {
    assert.equal(compileRoutes(order).routes.match('web', requestFor('http://h/x'))?.name, 'a@file');
  }
});

test('priority limits and duplicate names are reported per router, the rest still compiles', () => {
  const { routes, errors } = compileRoutes([
    { name: 'big', rule: 'Path(`/`)', priority: MAX_USER_PRIORITY + 1, entryPoints: [], target: 0 },
    { name: 'ok@internal', rule: 'Path(`/`)', priority: MAX_USER_PRIORITY + 1, entryPoints: [], target: 1 },
    { name: 'frac', rule: 'Path(`/`)', priority: 1.5, entryPoints: [], target: 2 },
    { name: 'dup', rule: 'Path(`/a`)', entryPoints: [], target: 3 },
    { name: 'dup', rule: 'Path(`/b`)', entryPoints: [], target: 4 },
    { name: 'broken', rule: 'Path(`/a`', entryPoints: [], target: 5 },
  ]);
  assert.equal(routes.size, 2);
  assert.match(errors.get('big')!, /exceeds the max user-defined priority/);
  assert.match(errors.get('frac')!, /not an integer/);
  assert.match(errors.get('dup')!, /defined more than once/);
  assert.match(errors.get('broken')!, /error while parsing rule Path\(`\/a`: /);
  assert.equal(routes.match('web', requestFor('http://h/'))?.target, 1);
});

test('entry points: a router only answers on its own; an empty list means every entry point', () => {
  const { routes } = compileRoutes([
    { name: 'secure', rule: 'Host(`a.com`)', entryPoints: ['websecure'], target: 's' },
    { name: 'both', rule: 'Host(`b.com`)', entryPoints: ['web', 'websecure'], target: 'b' },
    { name: 'all', rule: 'PathPrefix(`/`)', priority: 1, entryPoints: [], target: 'all' },
  ]);
  assert.equal(routes.match('websecure', requestFor('http://a.com/'))?.name, 'secure');
  assert.equal(routes.match('web', requestFor('http://a.com/'))?.name, 'all');
  assert.equal(routes.match('web', requestFor('http://b.com/'))?.name, 'both');
  assert.equal(routes.match('other', requestFor('http://b.com/'))?.name, 'all');
  assert.equal(routes.match('other', requestFor('http://a.com/'))?.name, 'all');
});

test('index: host-keyed routers with || of hosts, trailing dots and path prefixes', () => {
  const { routes } = compileRoutes([
    { name: 'multi', rule: 'Host(`a.com`) || Host(`B.com.`)', entryPoints: [], target: 1 },
    { name: 'api', rule: '(Host(`a.com`) || Host(`c.com`)) && (PathPrefix(`/api`) || Path(`/v`))', entryPoints: [], target: 2 },
    { name: 'neg', rule: '!Host(`a.com`) && PathPrefix(`/api`)', entryPoints: [], target: 3 },
  ]);
  assert.equal(routes.match('w', requestFor('http://b.com./'))?.name, 'multi');
  assert.equal(routes.match('w', requestFor('http://b.com/'))?.name, 'multi');
  assert.equal(routes.match('w', requestFor('http://a.com/api/x'))?.name, 'api');
  assert.equal(routes.match('w', requestFor('http://c.com/v'))?.name, 'api');
  assert.equal(routes.match('w', requestFor('http://c.com/vv')), undefined);
  assert.equal(routes.match('w', requestFor('http://d.com/api'))?.name, 'neg');
  assert.equal(routes.match('w', requestFor('http://a.com/x'))?.name, 'multi');
});

/** mulberry32: a small seeded PRNG so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS = ['a.com', 'b.com', 'B.COM', 'a.com.', 'c.org', 'api.c.org', 'x'];
const PATHS = ['/', '/api', '/api/', '/api/v1', '/ap', '/static/app.js', '/a%20b', '/a b', '/v1/users/42', '/%2Fetc'];
const METHODS = ['GET', 'POST', 'DELETE'];
const IPS = ['10.0.0.1', '10.1.2.3', '192.168.1.9', '::1', '2001:db8::7', '::ffff:10.0.0.9'];
const EPS = ['web', 'websecure', 'admin'];

function randomRule(rnd: () => number, depth: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const r = rnd();
  if (depth > 0 && r < 0.25) return `${randomRule(rnd, depth - 1)} && ${randomRule(rnd, depth - 1)}`;
  if (depth > 0 && r < 0.4) return `(${randomRule(rnd, depth - 1)} || ${randomRule(rnd, depth - 1)})`;
  if (depth > 0 && r < 0.47) return `!${rnd() < 0.5 ? `(${randomRule(rnd, depth - 1)})` : randomRule(rnd, 0)}`;
  const leaf = rnd();
  if (leaf < 0.3) return `Host(\`${pick(HOSTS)}\`)`;
  if (leaf < 0.5) return `PathPrefix(\`${pick(PATHS)}\`)`;
  if (leaf < 0.6) return `Path(\`${pick(PATHS)}\`)`;
  if (leaf < 0.67) return `Method(\`${pick(METHODS)}\`)`;
  if (leaf < 0.72) return `Header(\`X-Env\`, \`${pick(['prod', 'dev'])}\`)`;
  if (leaf < 0.77) return `Query(\`v\`${rnd() < 0.5 ? ', `1`' : ''})`;
  if (leaf < 0.82) return `HostRegexp(\`${pick(['^a\\.', 'com$', '(?i)^API', 'c\\.org'])}\`)`;
  if (leaf < 0.88) return `PathRegexp(\`${pick(['^/api/v[0-9]+', '\\.js$', '^/a b', '^/$'])}\`)`;
  return `ClientIP(\`${pick(['10.0.0.0/8', '::1', '2001:db8::/32', '192.168.1.9'])}\`)`;
}

test('property: the indexed matcher returns exactly what a linear scan in Traefik order returns', async () => {
  const rnd = prng(20240917);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let compared = 0;
  let matched = 0;
  for (let round = 0; round < 40; round++) {
    const inputs: RouteInput<number>[] = [];
    const count = 1 + Math.floor(rnd() * 60);
    for (let i = 0; i < count; i++) {
      // Bias towards host-keyed and prefix-keyed rules so every index path is exercised.
      const shape = rnd();
      let rule: string;
      if (shape < 0.35) rule = `Host(\`${pick(HOSTS)}\`) && ${randomRule(rnd, 1)}`;
      else if (shape < 0.5) rule = `PathPrefix(\`${pick(PATHS)}\`) && ${randomRule(rnd, 1)}`;
      else if (shape < 0.6) rule = `(Host(\`${pick(HOSTS)}\`) || Host(\`${pick(HOSTS)}\`)) && (PathPrefix(\`${pick(PATHS)}\`) || Path(\`${pick(PATHS)}\`))`;
      else rule = randomRule(rnd, 3);
      const eps = EPS.filter(() => rnd() < 0.4);
      const priority = rnd() < 0.3 ? Math.floor(rnd() * 4) : undefined; // many ties, and 0 (= default)
      inputs.push({ name: `r${i}`, rule, priority, entryPoints: eps, target: i });
    }
    const indexed = compileRoutes(inputs);
    const linear = compileRoutesLinear(inputs);
    // The sliced build (a slicer that yields at every step) must give the very same table.
    const sliced = await compileRoutesSliced(inputs, new Slicer(0));
    assert.deepEqual(indexed.errors, linear.errors);
    assert.deepEqual(sliced.errors, linear.errors);
    assert.equal(indexed.errors.size, 0, [...indexed.errors.values()].join('\n'));
    for (let q = 0; q < 300; q++) {
      const headers = rnd() < 0.5 ? { 'x-env': pick(['prod', 'dev']) } : {};
      const req = {
        ...requestFor(`http://${pick(HOSTS)}${pick(PATHS)}${rnd() < 0.4 ? `?v=${pick(['1', '2', ''])}` : ''}`),
        method: pick(METHODS),
        headers,
        clientIp: pick(IPS),
      };
      const ep = pick([...EPS, 'unknown']);
      const a = indexed.routes.match(ep, req);
      const b = linear.routes.match(ep, req);
      assert.deepEqual(sliced.routes.match(ep, req), b);
      assert.deepEqual(a, b, `round ${round}, ${ep} ${JSON.stringify(req)}\n${inputs.map((r) => `${r.name} [${r.entryPoints}] p=${r.priority}: ${r.rule}`).join('\n')}`);
      compared++;
      if (a !== undefined) matched++;
    }
  }
  // The generator must produce both hits and misses, or the comparison proves little.
  assert.ok(matched > compared * 0.2 && matched < compared * 0.95, `matched ${matched} of ${compared}`);
});

test('index scales: 10,000 host routers answer correctly for first, middle, last and unknown hosts', () => {
  const inputs: RouteInput<number>[] = [];
  for (let i = 0; i < 10_000; i++) inputs.push({ name: `svc${i}`, rule: `Host(\`svc${i}.example.com\`) && PathPrefix(\`/\`)`, entryPoints: ['web'], target: i });
  inputs.push({ name: 'catchall', rule: 'PathPrefix(`/`)', priority: 1, entryPoints: ['web'], target: -1 });
  const { routes } = compileRoutes(inputs);
  assert.equal(routes.size, 10_001);
  for (const i of [0, 4999, 9999]) assert.equal(routes.match('web', requestFor(`http://svc${i}.example.com/x`))?.target, i);
  assert.equal(routes.match('web', requestFor('http://nope.example.com/x'))?.target, -1);
});

test('a host with a few routers and a host with many: both answer as a linear scan does, on either side of the bucket size', () => {
  // A host's routers are kept as one list while they are few (8), then filed in a prefix trie: routers with prefixes,
  // with none, with two, in several priorities, so the trie built from the list keeps the rank order.
  for (const count of [1, 7, 8, 9, 30]) {
    const inputs: RouteInput<number>[] = [];
    for (let i = 0; i < count; i++) {
      const shape = i % 4;
      const rule = shape === 0 ? 'Host(`many.test`)'
        : shape === 1 ? `Host(\`many.test\`) && PathPrefix(\`/p${i % 5}\`)`
          : shape === 2 ? `Host(\`many.test\`) && (PathPrefix(\`/p${i % 3}\`) || Path(\`/x${i}\`))`
            : `Host(\`many.test\`) && Path(\`/p${i % 5}/exact\`)`;
      inputs.push({ name: `m${i}`, rule, ...(i % 3 === 0 ? { priority: 1 + (i % 2) } : {}), entryPoints: ['web'], target: i });
    }
    inputs.push({ name: 'few', rule: 'Host(`few.test`) && PathPrefix(`/p1`)', entryPoints: ['web'], target: -1 });
    const indexed = compileRoutes(inputs).routes;
    const linear = compileRoutesLinear(inputs).routes;
    let matched = 0;
    for (const host of ['many.test', 'few.test', 'other.test']) {
      for (const path of ['/', '/p0', '/p1', '/p1/deep', '/p2', '/p3/exact', '/p4/exact', '/x2', '/x6', '/x26', '/q']) {
        const req = requestFor(`http://${host}${path}`);
        const want = linear.match('web', req);
        assert.deepEqual(indexed.match('web', req), want, `${count} routers, ${host}${path}`);
        if (want !== undefined) matched++;
      }
    }
    assert.ok(matched > 0);
  }
});
