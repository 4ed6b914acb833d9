/**
 * A bounded fuzz-style sweep against a real `meshgate server` process (issue 14): batches of random and mutated JSON
 * bodies, query strings, filters, headers, raw HTTP and DNS packets. After every batch the server must still answer a
 * normal HTTP request and a DNS query within 100 ms, and the sentinel data outside the sweep's own `fuzz` names must be
 * exactly as it was. Random writes are confined to names starting with `fuzz` so a legitimate delete cannot touch the
 * sentinel; what the sweep hunts for is a crash, a stall, a 500, or a write that lands where it was not addressed.
 *
 * Reproduce a run with MESHGATE_FUZZ_SEED=<seed printed below>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { createRandom, encodeLoosely, mutateDocument, seedFromEnvironment, type Random } from './random.ts';
import { answersPromptly, rawExchange, udpExchange } from './wire.ts';
import { freePort, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';

const BATCHES = 10;
const REQUESTS_PER_BATCH = 50;
const PARALLEL = 10;
const REQUEST_DEADLINE_MS = 2_000;

let server: ServerProcess;
let dnsPort: number;
let dir: { path: string; remove(): void };
let sessionId: string;
const random: Random = createRandom(seedFromEnvironment());

before(async () => {
  dir = tempDir('meshgate-sweep-');
  dnsPort = await freePort();
  server = await spawnServer(dir.path, undefined, ['--dns-port', String(dnsPort)]);
  await seedSentinel();
});

after(async () => {
  // A server stuck in a pathological input never gets to its SIGTERM handler: kill it after a grace period.
  const stopped = server?.stop();
  const grace = setTimeout(() => void server?.kill9(), 5_000);
  await stopped;
  clearTimeout(grace);
  dir?.remove();
});

async function call(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method, body: body ?? null, headers, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
}

/** Data no fuzz request addresses: it must read back identically after every batch. */
async function seedSentinel(): Promise<void> {
  for (const [k, v] of [['keep/a', 'alpha'], ['keep/b', '{"json":true}'], ['keep/deep/c', 'gamma']] as const) {
    assert.equal((await call('PUT', `/v1/kv/${k}`, v)).status, 200);
  }
  const register = await call('PUT', '/v1/catalog/register', JSON.stringify({
    Node: 'keep-node', Address: '127.0.0.2',
    Service: { ID: 'keep-svc-1', Service: 'keep-svc', Port: 8080, Tags: ['primary'], Meta: { version: '1', probe: `${'a'.repeat(30)}!` } },
    Checks: [{ CheckID: 'keep-check', Name: 'keep', Status: 'passing', ServiceID: 'keep-svc-1' }],
  }));
  assert.equal(register.status, 200);
  const agentService = await call('PUT', '/v1/agent/service/register', JSON.stringify({
    ID: 'keep-agent', Name: 'keep-agent', Port: 7000, Tags: ['local'], Meta: { probe: `${'a'.repeat(30)}!` },
  }));
  assert.equal(agentService.status, 200);
  const session = await call('PUT', '/v1/session/create', JSON.stringify({ Name: 'keep-session', Checks: [] }));
  assert.equal(session.status, 200);
  sessionId = ((await session.json()) as { ID: string }).ID;
}

async function sentinelState(): Promise<string> {
  const reads = await Promise.all([
    call('GET', '/v1/kv/keep/?recurse'),
    call('GET', '/v1/catalog/service/keep-svc'),
    call('GET', '/v1/health/node/keep-node'),
    call('GET', `/v1/session/info/${sessionId}`),
    call('GET', '/v1/agent/service/keep-agent'),
  ]);
  const bodies = await Promise.all(reads.map(async (r) => `${r.status} ${await r.text()}`));
  return bodies.join('\n');
}

// ---- the request generators: each returns a description for the failure message ----

const READ_PATHS = [
  '/v1/catalog/services', '/v1/catalog/nodes', '/v1/catalog/service/keep-svc', '/v1/health/service/keep-svc',
  '/v1/health/state/any', '/v1/health/checks/keep-svc', '/v1/agent/services', '/v1/agent/checks', '/v1/kv/keep/',
  '/v1/session/list', '/v1/catalog/node/keep-node', '/v1/status/leader', '/v1/agent/self', '/v1/health/node/keep-node',
];
const FILTER_PATHS = ['/v1/agent/services', '/v1/agent/checks', '/v1/catalog/service/keep-svc', '/v1/health/service/keep-svc',
  '/v1/catalog/nodes', '/v1/health/checks/keep-svc', '/v1/health/state/any', '/v1/catalog/node-services/keep-node'];
const QUERY_NAMES = ['index', 'wait', 'stale', 'consistent', 'cached', 'near', 'dc', 'filter', 'passing', 'tag', 'recurse', 'keys',
  'separator', 'raw', 'cas', 'flags', 'acquire', 'release', 'node-meta', 'ns', 'hash', 'token', 'pretty', '__proto__', 'constructor'];
const FILTER_SELECTORS = ['ServiceName', 'Service', 'ServiceTags', 'Tags', 'Meta.version', 'ServiceMeta.version', 'Meta.probe', 'ServiceMeta.probe', 'Service.Meta.probe', 'Node', 'Address',
  'Checks.Status', 'Service.Meta["x"]', 'NodeMeta.a', 'Port', 'ServiceWeights.Passing', 'Kind', '__proto__', 'constructor.name'];
const FILTER_OPS = ['==', '!=', 'matches', 'not matches', 'contains', 'not contains', 'in', 'not in', 'is empty', 'is not empty'];
const PATTERNS = ['^(a+)+$', '(a|aa)+$', '(.*a){20}', '([a-z]+)*$', '\\1', '(?P<n>x)', '[', '(?i)KEEP', '\\z', 'a{1000}{1000}'];

function randomFilter(r: Random): string {
  if (r.chance(0.1)) return r.nastyString(200);
  if (r.chance(0.1)) {
    const depth = r.int(10, 3_000);
    return `${'('.repeat(depth)}Service == "x"${r.chance(0.5) ? ')'.repeat(depth) : ''}`;
  }
  const clauses = Array.from({ length: r.int(1, 4) }, () => {
    const sel = r.pick(FILTER_SELECTORS);
    const op = r.pick(FILTER_OPS);
    const value = op.includes('matches') ? r.pick(PATTERNS) : r.nastyString(20);
    const quoted = `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    if (op.startsWith('is')) return `${sel} ${op}`;
    if (op.includes('in')) return `${quoted} ${op} ${sel}`;
    return `${r.chance(0.2) ? 'not ' : ''}${sel} ${op} ${r.chance(0.1) ? value : quoted}`;
  });
  return clauses.join(r.pick([' and ', ' or ', ' and not ', ' ']));
}

function randomQuery(r: Random): string {
  const params = Array.from({ length: r.int(0, 4) }, () => {
    const name = r.pick(QUERY_NAMES);
    if (name === 'filter') return `filter=${encodeLoosely(randomFilter(r))}`;
    // `wait` stays short so a valid blocking query cannot hold the sweep for minutes; `index` may be anything.
    if (name === 'wait') return `wait=${r.pick(['10ms', '50ms', '-1s', 'abc', '1e9', '99999999h', '0', ''])}`;
    return r.chance(0.2) ? name : `${name}=${encodeLoosely(r.nastyString(30))}`;
  });
  return params.length > 0 ? `?${params.join('&')}` : '';
}

type Answer = { status: number; body: string } | undefined;
type FuzzRequest = { describe: string; send: () => Promise<Answer> };

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, body: (await res.text()).slice(0, 300) };
}

/**
 * 500s that Consul itself answers for bad input, so a client sees the same thing from us: RPC errors that
 * agent/http.go does not map to a 4xx. `Session.Apply` (agent/consul/session_endpoint.go) returns plain errors for an
 * out-of-range TTL and an unknown Behavior; `kvsLockTxn` (agent/consul/state/kvs.go) answers a lock with an unknown
 * session "invalid session %#v"; a `?dc=` naming another datacenter is "No path to datacenter".
 */
const CONSUL_500_BODIES = [/^Invalid Session TTL '/, /^Invalid Behavior setting '/, /^Session TTL '.*' invalid/, /No path to datacenter/,
  /^invalid session "/, /^missing session$/];

function fuzzKey(r: Random): string {
  return `fuzz/${encodeLoosely(r.nastyString(40))}`;
}

function generate(r: Random): FuzzRequest {
  const kind = r.int(0, 11);
  switch (kind) {
    case 0: { // KV with random methods, keys, queries and bodies
      const method = r.pick(['GET', 'PUT', 'DELETE', 'POST', 'PATCH']);
      const path = `/v1/kv/${fuzzKey(r)}${randomQuery(r)}`;
      const body = method === 'PUT' ? (r.chance(0.5) ? r.bytes(2_000) : r.nastyString(500)) : undefined;
      return { describe: `${method} ${path}`, send: async () => answer(await call(method, path, body)) };
    }
    case 1: { // catalog registration, mutated
      const doc = mutateDocument(r, {
        Node: `fuzz-node-${r.int(0, 20)}`, Address: '127.0.0.3', NodeMeta: { rack: 'r1' }, TaggedAddresses: { lan: '127.0.0.3' },
        Service: { ID: `fuzz-svc-${r.int(0, 20)}`, Service: 'fuzz-svc', Port: 9000, Tags: ['t'], Meta: { a: 'b' }, Weights: { Passing: 1, Warning: 1 } },
        Checks: [{ CheckID: 'fuzz-check', Name: 'c', Status: 'passing', Output: 'ok' }],
      }, ['Node']);
      const body = JSON.stringify(doc);
      return { describe: `PUT /v1/catalog/register ${body.slice(0, 300)}`, send: async () => answer(await call('PUT', '/v1/catalog/register', body)) };
    }
    case 2: { // agent service registration with TTL checks only (no probe may leave loopback)
      const doc = mutateDocument(r, {
        ID: `fuzz-agent-${r.int(0, 20)}`, Name: 'fuzz-agent', Port: 9100, Tags: ['x'], Meta: { m: 'v' },
        Check: { TTL: r.pick(['10s', '720h', '1ms', '-1s', '1e400s']), DeregisterCriticalServiceAfter: '90m' },
        EnableTagOverride: false,
      }, ['ID']);
      const body = JSON.stringify(doc);
      return { describe: `PUT /v1/agent/service/register ${body.slice(0, 300)}`, send: async () => answer(await call('PUT', '/v1/agent/service/register', body)) };
    }
    case 3: { // transactions over fuzz keys, verbs and values at random
      const ops = Array.from({ length: r.int(0, 70) }, () => ({
        KV: { Verb: r.pick(['set', 'get', 'delete', 'cas', 'lock', 'check-index', 'delete-cas', 'get-tree', 'bogus']), Key: `fuzz/${r.nastyString(30)}`,
          Value: r.chance(0.7) ? Buffer.from(r.nastyString(50)).toString('base64') : r.nastyString(20), Index: r.jsonValue(0), Flags: r.jsonValue(0) },
      }));
      const body = r.chance(0.2) ? JSON.stringify(r.jsonValue()) : JSON.stringify(ops);
      return { describe: `PUT /v1/txn ${body.slice(0, 300)}`, send: async () => answer(await call('PUT', '/v1/txn', body)) };
    }
    case 4: { // sessions, mutated
      const doc = mutateDocument(r, { Name: 'fuzz-session', TTL: r.pick(['10s', '720h', '1ms', '86401s', 'x']), Behavior: 'release', LockDelay: '15s', Checks: [] });
      const body = JSON.stringify(doc);
      return { describe: `PUT /v1/session/create ${body.slice(0, 300)}`, send: async () => answer(await call('PUT', '/v1/session/create', body)) };
    }
    case 5: { // reads with random filters and query strings
      const path = `${r.pick(READ_PATHS)}${randomQuery(r)}`;
      return { describe: `GET ${path.slice(0, 400)}`, send: async () => answer(await call('GET', path)) };
    }
    case 6: { // random headers on a normal read
      const headers: Record<string, string> = {};
      for (let i = r.int(1, 6); i > 0; i--) {
        const name = r.pick(['X-Consul-Token', 'Authorization', 'constructor', '__proto__', 'X-Forwarded-For', 'Accept-Encoding', 'If-None-Match', `x-${r.int(0, 999)}`]);
        headers[name] = r.nastyString(200).replace(/[^\t\x20-\x7e]/g, '');
      }
      return { describe: `GET /v1/kv/keep/a headers ${JSON.stringify(headers).slice(0, 300)}`, send: async () => answer(await call('GET', '/v1/kv/keep/a', undefined, headers)) };
    }
    case 7: { // malformed bodies on every write endpoint
      const path = r.pick(['/v1/catalog/register', '/v1/catalog/deregister', '/v1/agent/service/register', '/v1/agent/check/register', '/v1/session/create', '/v1/txn']);
      const body = r.chance(0.5) ? r.bytes(3_000) : JSON.stringify(r.jsonValue(4));
      return { describe: `PUT ${path} <${body.length} bytes>`, send: async () => answer(await call('PUT', path, body)) };
    }
    case 8: { // raw HTTP: broken framing must be refused, never hang or crash the process
      const payload = r.pick([
        `GET /v1/kv/keep/a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n`,
        `PUT /v1/kv/fuzz/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `PUT /v1/kv/fuzz/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n`,
        `GET /v1/kv/${'a'.repeat(r.int(1, 100_000))} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(r.int(1, 3_000))}\r\n`,
        `${r.nastyString(200)}\r\n\r\n`,
        `GET /v1/kv/keep/a HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/kv/keep/b HTTP/1.1\r\nHost: x\r\n\r\n`,
      ]);
      return { describe: `raw ${JSON.stringify(payload.slice(0, 200))}`, send: async () => { await rawExchange(server.port, payload); return undefined; } };
    }
    case 9: { // DNS: random bytes and mutated valid queries
      const type: dnsPacket.RecordType = r.pick(['A', 'AAAA', 'SRV', 'NS', 'TXT', 'PTR'] as const);
      const name = r.pick(['keep-svc.service.consul', 'fuzz.node.consul', `${r.nastyString(20)}.service.consul`, 'x.query.consul']);
      const valid = dnsPacket.encode({ type: 'query', id: r.int(0, 65535), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
      const packet = r.chance(0.3) ? r.bytes(600) : Buffer.from(valid.map((b) => (r.chance(0.05) ? r.int(0, 255) : b)));
      return { describe: `dns ${packet.toString('hex').slice(0, 200)}`, send: async () => { await udpExchange(dnsPort, packet, 300); return undefined; } };
    }
    case 10: { // filters on every endpoint that takes one: the expression language and its regex operator
      const path = `${r.pick(FILTER_PATHS)}?filter=${encodeLoosely(randomFilter(r))}`;
      return { describe: `GET ${path.slice(0, 400)}`, send: async () => answer(await call('GET', path)) };
    }
    default: { // unknown and odd paths
      const path = r.pick(['/v1/', '/v1/kv', '/v1/agent/service/', '/v1/catalog/service/', '/v1/health/service/', '/v1/session/info/', '/', '/ui/', '/v1/../etc/passwd'])
        + encodeLoosely(r.nastyString(60));
      const method = r.pick(['GET', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']);
      return { describe: `${method} ${path.slice(0, 300)}`, send: async () => answer(await call(method, path)) };
    }
  }
}

/** A normal request and a DNS query, each within 100 ms, and a correct answer. */
async function assertServerHealthy(): Promise<void> {
  await answersPromptly(async () => {
    const res = await call('GET', '/v1/kv/keep/a?raw');
    return { status: res.status, body: await res.text() };
  }, (r) => assert.deepEqual(r, { status: 200, body: 'alpha' }));
  await answersPromptly(
    () => udpExchange(dnsPort, dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'keep-svc.service.consul' }] }), 1_000),
    (answer) => {
      assert.ok(answer, 'no DNS answer');
      const decoded = dnsPacket.decode(answer);
      assert.deepEqual(decoded.answers?.map((a) => (a as { data: string }).data), ['127.0.0.2']);
    },
  );
}

test(`server survives ${BATCHES} batches of ${REQUESTS_PER_BATCH} random requests; normal requests answered within 100 ms; sentinel data unchanged (seed ${random.seed})`, async () => {
  const before = await sentinelState();
  await assertServerHealthy();
  const serverErrors: string[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const requests = Array.from({ length: REQUESTS_PER_BATCH }, () => generate(random));
    for (let i = 0; i < requests.length; i += PARALLEL) {
      await Promise.all(requests.slice(i, i + PARALLEL).map(async (req) => {
        try {
          const reply = await req.send();
          // A 5xx is an internal failure, except where Consul itself answers 500 for that input.
          if (reply !== undefined && reply.status >= 500 && !CONSUL_500_BODIES.some((re) => re.test(reply.body))) {
            serverErrors.push(`${reply.status} ${reply.body} ← ${req.describe}`);
          }
        } catch (err) {
          // A client-side abort after REQUEST_DEADLINE_MS is a blocking query doing its job; anything else is a finding.
          if (!(err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) serverErrors.push(`${String(err)} ← ${req.describe}`);
        }
      }));
    }
    assert.equal(server.child.exitCode, null, `server exited during batch ${batch}`);
    await assertServerHealthy();
    assert.equal(await sentinelState(), before, `data outside the sweep's names changed in batch ${batch}`);
  }
  assert.deepEqual(serverErrors, [], `seed ${random.seed}`);
});
