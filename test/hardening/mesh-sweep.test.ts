/**
 * The fuzz-style sweep (issue 14) over the surfaces the mesh added: the ACL system (tokens, policies, roles, binding
 * rules, auth methods, login), configuration entries, intentions, the discovery chain, Connect CA reads, leaf
 * certificates and `agent/connect/authorize`, against a real `meshgate server` with ACLs on and default deny.
 *
 * After every batch: a normal request answers within 100 ms, the sentinel objects (an ACL policy, token and role,
 * a service-defaults entry, an intention, a KV key) read back exactly as before, and across the whole run no write
 * sent without a token or with a made-up one was accepted and no `acl/login` with a made-up bearer token succeeded.
 * Random writes are confined to `fuzz` names. Reproduce a run with MESHGATE_FUZZ_SEED=<seed printed below>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRandom, encodeLoosely, mutateDocument, seedFromEnvironment, type Random } from './random.ts';
import { answersPromptly } from './wire.ts';
import { freePort, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';

const BATCHES = 8;
const REQUESTS_PER_BATCH = 50;
const PARALLEL = 10;
const REQUEST_DEADLINE_MS = 2_000;
const MANAGEMENT = randomUUID();

let server: ServerProcess;
let dir: { path: string; remove(): void };
const sentinel = { policyId: '', tokenAccessor: '', roleId: '', intention: 'keep-a → keep-b' };
const random: Random = createRandom(seedFromEnvironment());

before(async () => {
  dir = tempDir('meshgate-mesh-sweep-');
  const config = join(dir.path, 'acl.json');
  writeFileSync(config, JSON.stringify({ acl: { enabled: true, default_policy: 'deny', tokens: { initial_management: MANAGEMENT } } }));
  // Its own DNS port: the default 8600 may be another test's (or a running demo's).
  server = await spawnServer(join(dir.path, 'data'), undefined, ['--config-file', config, '--dns-port', String(await freePort())]);
  await seedSentinel();
});

after(async () => {
  const stopped = server?.stop();
  const grace = setTimeout(() => void server?.kill9(), 5_000);
  await stopped;
  clearTimeout(grace);
  dir?.remove();
});

/** `token` null sends no token header at all (the anonymous token); the default is the management token. */
async function call(method: string, path: string, body?: string, token: string | null = MANAGEMENT): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method, body: body ?? null, headers: token === null ? {} : { 'X-Consul-Token': token }, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
  });
}

async function ok(method: string, path: string, body: unknown): Promise<any> {
  const res = await call(method, path, JSON.stringify(body));
  const text = await res.text();
  assert.equal(res.status, 200, `${method} ${path}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function seedSentinel(): Promise<void> {
  sentinel.policyId = (await ok('PUT', '/v1/acl/policy', { Name: 'keep-policy', Rules: 'key_prefix "keep/" { policy = "read" }' })).ID;
  sentinel.roleId = (await ok('PUT', '/v1/acl/role', { Name: 'keep-role', Policies: [{ ID: sentinel.policyId }] })).ID;
  sentinel.tokenAccessor = (await ok('PUT', '/v1/acl/token', { Description: 'keep-token', Roles: [{ ID: sentinel.roleId }] })).AccessorID;
  await ok('PUT', '/v1/config', { Kind: 'service-defaults', Name: 'keep-svc', Protocol: 'http' });
  await ok('PUT', '/v1/connect/intentions/exact?source=keep-a&destination=keep-b', { Action: 'deny', Description: 'keep' });
  assert.equal((await call('PUT', '/v1/kv/keep/a', 'alpha')).status, 200);
}

async function sentinelState(): Promise<string> {
  const reads = await Promise.all([
    call('GET', `/v1/acl/policy/${sentinel.policyId}`), call('GET', `/v1/acl/role/${sentinel.roleId}`),
    call('GET', `/v1/acl/token/${sentinel.tokenAccessor}`), call('GET', '/v1/config/service-defaults/keep-svc'),
    call('GET', '/v1/connect/intentions/exact?source=keep-a&destination=keep-b'), call('GET', '/v1/kv/keep/a?raw'),
  ]);
  return (await Promise.all(reads.map(async (r) => `${r.status} ${await r.text()}`))).join('\n');
}

type Answer = { status: number; body: string };
interface FuzzRequest {
  describe: string;
  send: () => Promise<Answer>;
  /** Sent without a valid token or as a login with a made-up credential: any 2xx is a security finding. */
  mustBeRefused?: boolean;
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, body: (await res.text()).slice(0, 300) };
}

const fuzzName = (r: Random): string => `fuzz-${r.chance(0.7) ? r.int(0, 30) : encodeLoosely(r.nastyString(20))}`;
const badToken = (r: Random): string | null => r.pick([null, '', 'anonymous', randomUUID(), r.nastyString(40).replace(/[^\x21-\x7e]/g, ''), MANAGEMENT.slice(0, 35)]);

const ACL_DOCUMENTS: Record<string, (r: Random) => Record<string, unknown>> = {
  policy: (r) => ({ Name: fuzzName(r), Rules: r.pick(['key_prefix "fuzz/" { policy = "write" }', 'service "" { policy = "read" }', r.nastyString(200), 'node_prefix "" {', '{"key":{"":{"policy":"deny"}}}']), Datacenters: ['dc1'] }),
  role: (r) => ({ Name: fuzzName(r), Policies: [{ ID: r.chance(0.5) ? sentinel.policyId : randomUUID() }], ServiceIdentities: [{ ServiceName: fuzzName(r) }] }),
  token: (r) => ({ Description: `fuzz ${r.nastyString(20)}`, Policies: [{ Name: r.pick(['keep-policy', 'global-management', fuzzName(r)]) }], ExpirationTTL: r.pick(['1h', '0s', '-1s', 'x', '9999999h']), Local: false }),
  'auth-method': (r) => ({ Name: fuzzName(r), Type: r.pick(['jwt', 'kubernetes', 'oidc', 'bogus']), Config: { JWTValidationPubKeys: [r.nastyString(80)], BoundAudiences: ['x'], Host: 'https://127.0.0.1:1', CACert: r.nastyString(50) } }),
  'binding-rule': (r) => ({ AuthMethod: fuzzName(r), BindType: r.pick(['service', 'node', 'role', 'policy', 'x']), BindName: r.pick(['${value.name}', '', r.nastyString(30)]), Selector: r.nastyString(60) }),
};

const CONFIG_ENTRIES: Array<(r: Random) => Record<string, unknown>> = [
  (r) => ({ Kind: 'service-defaults', Name: fuzzName(r), Protocol: r.pick(['http', 'http2', 'grpc', 'tcp', 'udp', r.nastyString(10)]), UpstreamConfig: { Defaults: { ConnectTimeoutMs: 5000 } } }),
  (r) => ({ Kind: 'service-router', Name: fuzzName(r), Routes: [{ Match: { HTTP: { PathPrefix: '/x', Header: [{ Name: 'x', Regex: r.pick(['^(a+)+$', '[', '(?i)x', 'a{1000}']) }] } }, Destination: { Service: fuzzName(r) } }] }),
  (r) => ({ Kind: 'service-splitter', Name: fuzzName(r), Splits: [{ Weight: r.pick([50, 100, -1, 1e9, 33.333]), Service: fuzzName(r) }, { Weight: 50, ServiceSubset: 'v2' }] }),
  (r) => ({ Kind: 'service-resolver', Name: fuzzName(r), Subsets: { v2: { Filter: r.pick(['Service.Meta.version == 2', r.nastyString(40), `${'('.repeat(3000)}x`]) } }, ConnectTimeout: r.pick(['5s', '-1s', 'x']) }),
  (r) => ({ Kind: 'service-intentions', Name: fuzzName(r), Sources: [{ Name: r.pick(['*', fuzzName(r)]), Action: r.pick(['allow', 'deny', 'x']), Permissions: [{ Action: 'allow', HTTP: { PathRegex: r.pick(['^(a+)+$', '\\1', '.*']) } }] }] }),
  (r) => ({ Kind: r.pick(['proxy-defaults', 'mesh', 'bogus-kind', 'ingress-gateway']), Name: r.pick(['global', 'mesh', fuzzName(r)]), Config: { protocol: 'http' } }),
];

function generate(r: Random): FuzzRequest {
  switch (r.int(0, 8)) {
    case 0: case 1: { // ACL object create or update with the management token
      const kind = r.pick(Object.keys(ACL_DOCUMENTS));
      const doc = mutateDocument(r, ACL_DOCUMENTS[kind]!(r), ['Name', 'Description']);
      const path = r.chance(0.7) ? `/v1/acl/${kind}` : `/v1/acl/${kind}/${r.chance(0.5) ? randomUUID() : encodeLoosely(r.nastyString(30))}`;
      const method = r.pick(['PUT', 'PUT', 'PUT', 'DELETE', 'GET', 'POST']);
      return { describe: `${method} ${path} ${JSON.stringify(doc).slice(0, 250)}`, send: async () => answer(await call(method, path, method === 'PUT' ? JSON.stringify(doc) : undefined)) };
    }
    case 2: { // every write door without a token or with a made-up one: must be refused
      const target = r.pick([
        ['PUT', '/v1/kv/keep/a', 'stolen'], ['PUT', '/v1/acl/policy', JSON.stringify({ Name: 'fuzz-evil', Rules: 'key_prefix "" { policy = "write" }' })],
        ['PUT', '/v1/acl/token', JSON.stringify({ Policies: [{ Name: 'global-management' }] })], ['DELETE', `/v1/acl/policy/${sentinel.policyId}`, undefined],
        ['PUT', '/v1/config', JSON.stringify({ Kind: 'service-defaults', Name: 'keep-svc', Protocol: 'tcp' })],
        ['PUT', '/v1/connect/intentions/exact?source=keep-a&destination=keep-b', JSON.stringify({ Action: 'allow' })],
        ['PUT', '/v1/catalog/register', JSON.stringify({ Node: 'fuzz-evil', Address: '127.0.0.9' })], ['GET', `/v1/acl/token/${sentinel.tokenAccessor}`, undefined],
        ['PUT', '/v1/connect/ca/configuration', JSON.stringify({ Provider: 'consul', Config: {} })], ['GET', '/v1/agent/connect/ca/leaf/keep-svc', undefined],
      ] as const);
      const token = badToken(r);
      return {
        describe: `${target[0]} ${target[1]} with token ${JSON.stringify(token)}`,
        mustBeRefused: true,
        send: async () => answer(await call(target[0], target[1], target[2], token)),
      };
    }
    case 3: { // login with made-up bearer tokens against real and random methods
      const body = JSON.stringify(mutateDocument(r, { AuthMethod: r.pick(['keep-method', fuzzName(r)]), BearerToken: r.pick(['eyJhbGciOiJub25lIn0.e30.', r.nastyString(100), randomUUID()]), Meta: { a: 'b' } }, ['BearerToken']));
      return { describe: `POST /v1/acl/login ${body.slice(0, 250)}`, mustBeRefused: true, send: async () => answer(await call('POST', '/v1/acl/login', body, null)) };
    }
    case 4: { // configuration entries
      const doc = mutateDocument(r, r.pick(CONFIG_ENTRIES)(r), ['Name']);
      const body = r.chance(0.1) ? r.nastyString(300) : JSON.stringify(doc);
      const path = r.chance(0.8) ? '/v1/config' : `/v1/config${r.pick(['?cas=0', '?cas=x', `?cas=${r.int(0, 1e6)}`])}`;
      return { describe: `PUT ${path} ${body.slice(0, 250)}`, send: async () => answer(await call('PUT', path, body)) };
    }
    case 5: { // intentions: exact upserts, checks and matches with random names
      const src = r.pick([fuzzName(r), '*', encodeLoosely(r.nastyString(20))]);
      const dst = r.pick([fuzzName(r), '*', encodeLoosely(r.nastyString(20))]);
      const which = r.int(0, 2);
      if (which === 0) {
        const body = JSON.stringify(mutateDocument(r, { Action: r.pick(['allow', 'deny', 'x']), Description: r.nastyString(40), Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/' } }] }));
        return { describe: `PUT intention ${src}→${dst} ${body.slice(0, 200)}`, send: async () => answer(await call('PUT', `/v1/connect/intentions/exact?source=${src}&destination=${dst}`, body)) };
      }
      const path = which === 1 ? `/v1/connect/intentions/check?source=${src}&destination=${dst}` : `/v1/connect/intentions/match?by=${r.pick(['source', 'destination', 'x'])}&name=${dst}`;
      return { describe: `GET ${path}`, send: async () => answer(await call('GET', path)) };
    }
    case 6: { // the discovery chain, with and without overrides
      const name = r.pick(['keep-svc', fuzzName(r), encodeLoosely(r.nastyString(30))]);
      if (r.chance(0.5)) return { describe: `GET /v1/discovery-chain/${name}`, send: async () => answer(await call('GET', `/v1/discovery-chain/${name}${r.pick(['', '?compile-dc=x', '?compile-dc=dc1'])}`)) };
      const body = JSON.stringify(mutateDocument(r, { OverrideProtocol: r.pick(['http', 'grpc', 'x']), OverrideConnectTimeout: r.pick(['1s', '-1s', 'x']), OverrideMeshGateway: { Mode: 'local' } }));
      return { describe: `POST /v1/discovery-chain/${name} ${body}`, send: async () => answer(await call('POST', `/v1/discovery-chain/${name}`, body)) };
    }
    case 7: { // Connect CA reads, leaves and authorize
      const which = r.int(0, 2);
      if (which === 0) return { describe: 'GET roots/configuration', send: async () => answer(await call('GET', r.pick(['/v1/connect/ca/roots', '/v1/agent/connect/ca/roots', '/v1/connect/ca/configuration']))) };
      if (which === 1) {
        const name = r.pick([fuzzName(r), encodeLoosely(r.nastyString(40)), '..%2F..', '']);
        return { describe: `GET leaf ${name}`, send: async () => answer(await call('GET', `/v1/agent/connect/ca/leaf/${name}`)) };
      }
      const body = JSON.stringify(mutateDocument(r, { Target: 'keep-b', ClientCertURI: r.pick(['spiffe://x.consul/ns/default/dc/dc1/svc/keep-a', r.nastyString(60), '']), ClientCertSerial: 'aa:bb' }));
      return { describe: `POST authorize ${body.slice(0, 250)}`, send: async () => answer(await call('POST', '/v1/agent/connect/authorize', body)) };
    }
    default: { // malformed bodies on the mesh's write endpoints
      const path = r.pick(['/v1/acl/token', '/v1/acl/policy', '/v1/acl/role', '/v1/acl/auth-method', '/v1/acl/binding-rule', '/v1/config', '/v1/acl/login', '/v1/agent/connect/authorize']);
      const body = r.chance(0.5) ? r.bytes(2_000).toString('latin1') : JSON.stringify(r.jsonValue(4));
      return { describe: `PUT ${path} <${body.length} bytes>`, send: async () => answer(await call(path.endsWith('login') ? 'POST' : 'PUT', path, body)) };
    }
  }
}

async function assertServerHealthy(): Promise<void> {
  await answersPromptly(async () => {
    const res = await call('GET', '/v1/kv/keep/a?raw');
    return { status: res.status, body: await res.text() };
  }, (r) => assert.deepEqual(r, { status: 200, body: 'alpha' }));
}

test(`mesh and ACL surfaces survive ${BATCHES} batches of ${REQUESTS_PER_BATCH} random requests; nothing unauthenticated is accepted; sentinel unchanged (seed ${random.seed})`, async () => {
  // A jwt auth method the login fuzz aims at: its private half is thrown away at once.
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await ok('PUT', '/v1/acl/auth-method', {
    Name: 'keep-method', Type: 'jwt',
    Config: { JWTValidationPubKeys: [publicKey], BoundAudiences: ['meshgate'], ClaimMappings: { sub: 'name' } },
  });
  await ok('PUT', '/v1/acl/binding-rule', { AuthMethod: 'keep-method', BindType: 'service', BindName: '${value.name}' });
  const before = await sentinelState();
  await assertServerHealthy();
  const findings: string[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const requests = Array.from({ length: REQUESTS_PER_BATCH }, () => generate(random));
    for (let i = 0; i < requests.length; i += PARALLEL) {
      await Promise.all(requests.slice(i, i + PARALLEL).map(async (req) => {
        try {
          const reply = await req.send();
          if (reply.status >= 500) findings.push(`${reply.status} ${reply.body} ← ${req.describe}`);
          if (req.mustBeRefused && reply.status < 300) findings.push(`ACCEPTED ${reply.status} ${reply.body} ← ${req.describe}`);
        } catch (err) {
          if (!(err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) findings.push(`${String(err)} ← ${req.describe}`);
        }
      }));
    }
    assert.equal(server.child.exitCode, null, `server exited during batch ${batch}`);
    assert.deepEqual(findings, [], `seed ${random.seed}, batch ${batch}`);
    await assertServerHealthy();
    assert.equal(await sentinelState(), before, `data outside the sweep's names changed in batch ${batch}`);
  }
  assert.deepEqual(findings, [], `seed ${random.seed}`);
});
