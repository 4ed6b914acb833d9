/**
 * /v1/config and `meshgate config write|read|list|delete` with one example entry file per kind (fixtures/, written
 * after the examples on Consul's config-entry reference pages, in HCL and JSON, PascalCase and snake_case). What
 * is asserted is Consul's: agent/config_endpoint.go (answers and status), agent/structs/config_entry*.go
 * (Normalize and Validate per kind, with their messages), DecodeConfigEntry (case-insensitive keys, snake_case
 * aliases, one-element lists as structs, unknown keys refused).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli/main.ts';
import { parseEntryFile } from '../../../src/cli/commands/config/entry-file.ts';
import type { CliIO } from '../../../src/cli/io.ts';
import type { RunningServer } from '../../../src/server/options.ts';
import { startTestServer } from '../../helpers/server.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.hcl') || f.endsWith('.json')).sort();

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; text: string; index: number }> {
  const res = await fetch(`${server.url}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Consul's error answers are plain text
  }
  return { status: res.status, body: parsed, text, index: Number(res.headers.get('x-consul-index') ?? 0) };
}

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { MESHGATE_HTTP_ADDR: server.url },
    readStdin: async () => Buffer.from(stdin),
  };
  const code = await main(args, io);
  return { code, out, err };
}

/** Kind and name of a fixture, read as Consul's decoder reads them (Kind or kind; proxy-defaults and mesh named for it). */
async function identify(file: string): Promise<{ raw: Record<string, unknown>; kind: string; name: string }> {
  const raw = await parseEntryFile(file, readFileSync(join(FIXTURES, file), 'utf8'));
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const kind = str(raw.Kind) ?? str(raw.kind) ?? '';
  const name = str(raw.Name) ?? str(raw.name) ?? (kind === 'proxy-defaults' ? 'global' : 'mesh');
  return { raw, kind, name };
}

/** Dependencies a fixture's discovery chain needs (Consul refuses a router or splitter on a tcp service). */
async function prerequisites(): Promise<void> {
  // The ingress fixture's listeners are http (storefront, inventory) and tcp (ledger): each service's protocol must
  // be its listener's, as Consul checks.
  for (const [svc, protocol] of [['inventory', 'http'], ['reporting', 'http'], ['storefront', 'http'], ['ledger', 'tcp']]) {
    const r = await http('PUT', '/v1/config', { Kind: 'service-defaults', Name: svc, Protocol: protocol });
    assert.equal(r.body, true, r.text);
  }
}

describe('every kind round-trips through the HTTP API', () => {
  before(prerequisites);
  // The resolver goes first: the splitter and router fixtures name its subsets.
  const order = [...fixtureFiles].sort((a, b) => Number(b.startsWith('service-resolver')) - Number(a.startsWith('service-resolver')));
  for (const file of order) {
    test(file, async () => {
      const { raw, kind, name } = await identify(file);
      const put = await http('PUT', '/v1/config', raw);
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body, true);
      const got = await http('GET', `/v1/config/${kind}/${name}`);
      assert.equal(got.status, 200);
      const entry = got.body as Record<string, unknown>;
      assert.equal(entry.Kind, kind);
      assert.equal(entry.Name, name);
      assert.ok((entry.CreateIndex as number) > 0 && entry.ModifyIndex === entry.CreateIndex);
      const list = await http('GET', `/v1/config/${kind}`);
      assert.ok((list.body as Array<{ Name: string }>).some((e) => e.Name === name));
      // Writing what was read back changes nothing but the ModifyIndex: the stored form is a fixed point.
      const again = await http('PUT', '/v1/config', entry);
      assert.equal(again.body, true, again.text);
      const reread = (await http('GET', `/v1/config/${kind}/${name}`)).body as Record<string, unknown>;
      assert.deepEqual({ ...reread, ModifyIndex: 0 }, { ...entry, ModifyIndex: 0 });
    });
  }

  test('fields as Consul normalizes them', async () => {
    const resolver = (await http('GET', '/v1/config/service-resolver/inventory')).body as Record<string, unknown>;
    // snake_case keys from the HCL file land on Consul's fields; durations print as Go's Duration.String().
    assert.equal(resolver.DefaultSubset, 'v1');
    assert.equal(resolver.ConnectTimeout, '15s');
    assert.equal(resolver.RequestTimeout, '30s');
    assert.deepEqual(resolver.Subsets, { v1: { Filter: 'Service.Meta.version == v1' }, v2: { Filter: 'Service.Meta.version == v2', OnlyPassing: true } });
    assert.deepEqual(resolver.Failover, { '*': { Datacenters: ['dc2'] } });
    const router = (await http('GET', '/v1/config/service-router/inventory')).body as { Routes: Array<{ Match: { HTTP: { Methods?: string[] } } }> };
    assert.deepEqual(router.Routes[1]!.Match.HTTP.Methods, ['GET', 'HEAD'], 'ServiceRouterConfigEntry.Normalize upper-cases methods');
    const defaults = (await http('GET', '/v1/config/service-defaults/billing')).body as { UpstreamConfig: { Overrides: Array<{ Protocol: string }> } };
    assert.equal(defaults.UpstreamConfig.Overrides[0]!.Protocol, 'grpc', 'upstream protocols are lower-cased');
    const mesh = (await http('GET', '/v1/config/mesh/mesh')).body as Record<string, unknown>;
    assert.deepEqual(mesh.TLS, { Incoming: { TLSMinVersion: 'TLSv1_2' } }, 'HCL blocks decode as structs (HookWeakDecodeFromSlice)');
    const intentions = (await http('GET', '/v1/config/service-intentions/inventory')).body as { Sources: Array<{ Name: string; Precedence: number; Type: string }> };
    // Normalize: Type defaults to consul, Precedence computed, sources ordered by precedence (exact before "*").
    assert.deepEqual(intentions.Sources.map((s) => [s.Name, s.Precedence, s.Type]), [
      ['storefront', 9, 'consul'], ['auditor', 9, 'consul'], ['*', 8, 'consul'],
    ]);
  });
});

describe('invalid entries are refused with 400 naming the field, and nothing is written', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['splitter weights not summing to 100', { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 90 }, { Weight: 5, Service: 'other' }] }, /the sum of all split weights must be 100, not 95\.000000/],
    ['splitter without splits', { Kind: 'service-splitter', Name: 'web' }, /no splits configured/],
    ['router path not starting with /', { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: 'admin' } } }] }, /Route\[0\] PathPrefix doesn't start with '\/': "admin"/],
    ['router with two path matches', { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/a', PathExact: '/b' } } }] }, /Route\[0\] should only contain at most one of PathExact, PathPrefix, or PathRegex/],
    ['router invalid method', { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { Methods: ['FETCH'] } } }] }, /Route\[0\] Methods contains an invalid method "FETCH"/],
    ['resolver default subset unknown', { Kind: 'service-resolver', Name: 'web', DefaultSubset: 'v9' }, /DefaultSubset "v9" is not a valid subset/],
    ['resolver redirect and failover', { Kind: 'service-resolver', Name: 'web', Redirect: { Service: 'x' }, Failover: { '*': { Service: 'y' } } }, /Redirect and Failover cannot both be set/],
    ['resolver bad filter', { Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Meta.version ==' } } }, /Filter for subset "v1" is not a valid expression/],
    ['resolver bad duration', { Kind: 'service-resolver', Name: 'web', ConnectTimeout: 'soon' }, /ConnectTimeout: time: invalid duration "soon"/],
    ['service-defaults wildcard', { Kind: 'service-defaults', Name: '*' }, /service-defaults name must be the name of a service, and not a wildcard/],
    ['service-defaults MutualTLSMode', { Kind: 'service-defaults', Name: 'web', MutualTLSMode: 'sometimes' }, /Invalid MutualTLSMode "sometimes"/],
    ['service-defaults upstream override without a name', { Kind: 'service-defaults', Name: 'web', UpstreamConfig: { Overrides: [{ Protocol: 'http' }] } }, /error in upstream override for : Name is required/],
    ['proxy-defaults not global', { Kind: 'proxy-defaults', Name: 'mine' }, /invalid name \("mine"\), only "global" is supported/],
    ['intentions without sources', { Kind: 'service-intentions', Name: 'web' }, /At least one source is required/],
    ['intention action missing', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api' }] }, /Sources\[0\]\.Action must be set to 'allow' or 'deny'/],
    ['intention partial wildcard', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api-*', Action: 'allow' }] }, /Sources\[0\]\.Name: wildcard character '\*' cannot be used with partial values/],
    ['intention permissions on wildcard destination', { Kind: 'service-intentions', Name: '*', Sources: [{ Name: 'api', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/' } }] }] }, /Sources\[0\]\.Permissions cannot be specified on intentions with wildcarded destinations/],
    ['intention empty HTTP permission', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api', Permissions: [{ Action: 'allow', HTTP: {} }] }] }, /Sources\[0\]\.Permissions\[0\]\.HTTP should not be empty/],
    ['intention source twice', { Kind: 'service-intentions', Name: 'web', Sources: [{ Name: 'api', Action: 'allow' }, { Name: 'api', Action: 'deny' }] }, /Sources\[1\] defines "api" more than once/],
    ['ingress port twice', { Kind: 'ingress-gateway', Name: 'ig', Listeners: [{ Port: 1, Services: [{ Name: 'a' }] }, { Port: 1, Services: [{ Name: 'b' }] }] }, /port 1 declared on two listeners/],
    ['ingress tcp with two services', { Kind: 'ingress-gateway', Name: 'ig', Listeners: [{ Port: 1, Services: [{ Name: 'a' }, { Name: 'b' }] }] }, /Multiple services per listener are only supported for L7 protocols/],
    ['terminating cert without key', { Kind: 'terminating-gateway', Name: 'tg', Services: [{ Name: 'a', CertFile: '/c.pem' }] }, /Service "a" must have a CertFile, CAFile, and KeyFile specified for TLS origination/],
    ['unknown key', { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefx: '/' } } }] }, /invalid config key "Routes\[0\]\.Match\.HTTP\.PathPrefx"/],
    ['wrong type', { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 'all' }] }, /Splits\[0\]\.Weight/],
    ['unknown kind', { Kind: 'service-everything', Name: 'web' }, /invalid config entry kind: service-everything/],
    ['no kind', { Name: 'web' }, /Payload does not contain a kind\/Kind key at the top level/],
  ];
  for (const [what, body, message] of cases) {
    test(what, async () => {
      const kindOfBody = typeof body.Kind === 'string' ? body.Kind : 'service-defaults';
      const before = (await http('GET', `/v1/config/${kindOfBody}`)).index;
      const res = await http('PUT', '/v1/config', body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, message);
      if (typeof body.Kind === 'string' && body.Kind !== 'service-everything') {
        assert.equal((await http('GET', `/v1/config/${body.Kind}`)).index, before, 'nothing was written');
      }
    });
  }

  test('an ingress listener whose service has another protocol', async () => {
    assert.equal((await http('PUT', '/v1/config', { Kind: 'service-defaults', Name: 'grpc-only', Protocol: 'grpc' })).body, true);
    const res = await http('PUT', '/v1/config', { Kind: 'ingress-gateway', Name: 'ig-mismatch', Listeners: [{ Port: 7000, Protocol: 'http', Services: [{ Name: 'grpc-only' }] }] });
    assert.equal(res.status, 400);
    assert.match(res.text, /service "grpc-only" has protocol "grpc", which does not match defined listener protocol "http"/);
    assert.equal((await http('GET', '/v1/config/ingress-gateway/ig-mismatch')).status, 404);
  });

  // Consul's validateProposedConfigEntryInServiceGraph: a router on a service whose protocol is tcp is refused.
  test('a router for a tcp service breaks its discovery chain', async () => {
    // The proxy-defaults fixture makes http the global default; this service says tcp for itself.
    assert.equal((await http('PUT', '/v1/config', { Kind: 'service-defaults', Name: 'plain-tcp', Protocol: 'tcp' })).body, true);
    const res = await http('PUT', '/v1/config', { Kind: 'service-router', Name: 'plain-tcp', Routes: [{ Match: { HTTP: { PathPrefix: '/x' } } }] });
    assert.equal(res.status, 400);
    assert.match(res.text, /discovery chain "plain-tcp" uses a protocol "tcp" that does not permit advanced routing or splitting behavior/);
    assert.equal((await http('GET', '/v1/config/service-router/plain-tcp')).status, 404);
  });
});

describe('check-and-set, delete, blocking list', () => {
  test('cas on ModifyIndex for writes and deletes', async () => {
    const entry = { Kind: 'service-defaults', Name: 'cas-svc', Protocol: 'http' };
    assert.equal((await http('PUT', '/v1/config?cas=0', entry)).body, true, 'cas=0 creates');
    assert.equal((await http('PUT', '/v1/config?cas=0', entry)).body, false, 'cas=0 refuses an existing entry');
    const { ModifyIndex } = (await http('GET', '/v1/config/service-defaults/cas-svc')).body as { ModifyIndex: number };
    assert.equal((await http('PUT', `/v1/config?cas=${ModifyIndex}`, { ...entry, Protocol: 'grpc' })).body, true);
    assert.equal((await http('PUT', `/v1/config?cas=${ModifyIndex}`, entry)).body, false, 'a stale index loses');
    const now = (await http('GET', '/v1/config/service-defaults/cas-svc')).body as { ModifyIndex: number; Protocol: string };
    assert.equal(now.Protocol, 'grpc');
    assert.equal((await http('DELETE', `/v1/config/service-defaults/cas-svc?cas=${now.ModifyIndex - 1}`)).body, false);
    assert.equal((await http('DELETE', `/v1/config/service-defaults/cas-svc?cas=${now.ModifyIndex}`)).body, true);
    const gone = await http('GET', '/v1/config/service-defaults/cas-svc');
    assert.equal(gone.status, 404);
    assert.equal(gone.text, 'Config entry not found for "service-defaults" / "cas-svc"');
    assert.deepEqual((await http('DELETE', '/v1/config/service-defaults/cas-svc')).body, {}, 'a plain delete answers {} even when absent');
  });

  test('PUT /v1/config/:kind/:name applies the body addressed by path', async () => {
    const put = await http('PUT', '/v1/config/service-defaults/by-path', { Protocol: 'http' });
    assert.equal(put.body, true, put.text);
    assert.equal(((await http('GET', '/v1/config/service-defaults/by-path')).body as { Protocol: string }).Protocol, 'http');
    const mismatch = await http('PUT', '/v1/config/service-defaults/by-path', { Kind: 'service-defaults', Name: 'other' });
    assert.equal(mismatch.status, 400);
  });

  test('a blocking list wakes on a write of its kind', async () => {
    const first = await http('GET', '/v1/config/terminating-gateway');
    const waiting = http('GET', `/v1/config/terminating-gateway?index=${first.index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 100));
    await http('PUT', '/v1/config', { Kind: 'terminating-gateway', Name: 'woken', Services: [{ Name: 'x' }] });
    const res = await waiting;
    assert.ok(res.index > first.index);
    assert.ok((res.body as Array<{ Name: string }>).some((e) => e.Name === 'woken'));
  });
});

describe('meshgate config write|read|list|delete', () => {
  before(prerequisites);
  const order = [...fixtureFiles].sort((a, b) => Number(b.startsWith('service-resolver')) - Number(a.startsWith('service-resolver')));
  for (const file of order) {
    test(file, async () => {
      const { kind, name } = await identify(file);
      await http('DELETE', `/v1/config/${kind}/${name}`);
      const write = await cli(['config', 'write', join(FIXTURES, file)]);
      assert.equal(write.code, 0, write.err);
      assert.equal(write.out, `Config entry written: ${kind}/${name}\n`);
      const read = await cli(['config', 'read', '-kind', kind, '-name', name]);
      assert.equal(read.code, 0, read.err);
      const viaCli = JSON.parse(read.out) as Record<string, unknown>;
      const viaHttp = (await http('GET', `/v1/config/${kind}/${name}`)).body;
      assert.deepEqual(viaCli, viaHttp);
      const list = await cli(['config', 'list', '-kind', kind]);
      assert.ok(list.out.split('\n').includes(name));
    });
  }

  test('write from stdin, cas, delete', async () => {
    const hcl = 'Kind = "service-defaults"\nName = "from-stdin"\nprotocol = "http2"\n';
    const w = await cli(['config', 'write', '-'], hcl);
    assert.equal(w.code, 0, w.err);
    const read = JSON.parse((await cli(['config', 'read', '-kind', 'service-defaults', '-name', 'from-stdin'])).out) as { Protocol: string; ModifyIndex: number };
    assert.equal(read.Protocol, 'http2');
    const stale = await cli(['config', 'write', '-cas', '-modify-index', String(read.ModifyIndex + 100), '-'], hcl);
    assert.equal(stale.code, 1);
    assert.match(stale.err, /Config entry not updated: service-defaults\/from-stdin/);
    const del = await cli(['config', 'delete', '-kind', 'service-defaults', '-name', 'from-stdin']);
    assert.equal(del.out, 'Config entry deleted: service-defaults/from-stdin\n');
    const missing = await cli(['config', 'read', '-kind', 'service-defaults', '-name', 'from-stdin']);
    assert.equal(missing.code, 1);
  });

  test('HCL1 blocks inside list elements, as older Consul docs write them', async () => {
    const hcl = [
      'Kind = "service-router"', 'Name = "inventory"', 'Routes = [', '  {', '    Match {', '      HTTP {', '        PathPrefix = "/hcl1"', '      }', '    }',
      '    Destination {', '      Service = "reporting"', '    }', '  },', ']', '',
    ].join('\n');
    const w = await cli(['config', 'write', '-'], hcl);
    assert.equal(w.code, 0, w.err);
    const router = JSON.parse((await cli(['config', 'read', '-kind', 'service-router', '-name', 'inventory'])).out) as { Routes: unknown[] };
    assert.deepEqual(router.Routes, [{ Match: { HTTP: { PathPrefix: '/hcl1' } }, Destination: { Service: 'reporting' } }]);
    const broken = await cli(['config', 'write', '-'], 'Kind = "service-router"\nName = [\n');
    assert.equal(broken.code, 1);
    assert.match(broken.err, /Failed to decode config entry input/);
  });

  test('an invalid file fails with the server\'s reason', async () => {
    const bad = await cli(['config', 'write', '-'], '{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":50}]}');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /the sum of all split weights must be 100/);
  });
});
