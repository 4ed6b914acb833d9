/**
 * Traefik's v2 rule syntax through a running gateway (file provider, one worker, real upstreams on loopback):
 * - the rules-and-priority page's "RuleSyntax > Configuration Example" (test/gateway/fixtures/traefik-docs,
 *   rules-and-priority.01.yaml and .02.toml, docs/content/reference/routing-configuration/http/routing/
 *   rules-and-priority.md), Router-v2 and Router-v3 side by side as the page shows them;
 * - the static `core.defaultRuleSyntax: v2` of the migration guide (docs/content/migrate/v2-to-v3-details.md,
 *   "Configure the Default Syntax In Static Configuration"), which Traefik's internal provider carries to every
 *   router without a `ruleSyntax` of its own (pkg/provider/traefik/internal.go entryPointModels, pkg/server/
 *   aggregator.go applyModel), http and tcp alike, while a router's own `ruleSyntax: v3` keeps v3;
 * - a v2 rule Traefik refuses disables that router only, with the reason on the router in the API
 *   (pkg/server/router/router.go buildEntryPointHandler: AddRoute error → routerConfig.AddError).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfigText } from '../../src/gateway/config/parse.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { fileProviderYaml, get, startGateway, staticYaml, tempDir, type Upstream, withUpstreams } from './helpers.ts';

let v2: Upstream;
let v3: Upstream;
withUpstreams(['V2', 'V3'], ([first, second]) => ([v2, v3] = [first!, second!]));

const docs = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;

/** The page's routers, each sent to the upstream named after it (the page leaves `service` out). */
function withServices(routers: Record<string, Record<string, unknown>>): string {
  const http = {
    routers: Object.fromEntries(Object.entries(routers).map(([name, r]) => [name, { ...r, service: name === 'Router-v2' ? 'v2' : 'v3' }])),
    services: { v2: { loadBalancer: { servers: [{ url: v2.url }] } }, v3: { loadBalancer: { servers: [{ url: v3.url }] } } },
  };
  // JSON is YAML: the file provider reads it as the page's YAML would be read.
  return JSON.stringify({ http });
}

async function gatewayWith(dynamic: string, staticText = staticYaml('dynamic.yml')) {
  const dir = await tempDir('mg-rules-v2-');
  await writeFile(join(dir, 'dynamic.yml'), dynamic);
  await writeFile(join(dir, 'gateway.yml'), staticText);
  return startGateway(join(dir, 'gateway.yml'));
}

/** Which upstream answered (the helpers' upstreams echo their name), or the status when none did. */
async function who(url: string, host: string, headers: Record<string, string> = {}): Promise<string> {
  const reply = await get(url, { host, headers });
  return reply.status === 200 ? (reply.json() as { upstream: string }).upstream : String(reply.status);
}

test('rules-and-priority "RuleSyntax" example: Router-v2 reads a mux template, Router-v3 a Go regexp, side by side', async (t) => {
  // The TOML tab writes `ruleSyntax = v3` as a bare word, which no TOML parser (Traefik's included) accepts
  // (docs-replay DOCUMENTATION_ERRORS); quoted, it is the page's intended configuration.
  const toml = readFileSync(join(docs, 'rules-and-priority.02.toml'), 'utf8').replace(/ruleSyntax = (v[23])$/gm, 'ruleSyntax = "$1"');
  const { http } = parseConfigText(toml, 'toml', 'rules-and-priority.02.toml') as { http: { routers: Record<string, Record<string, unknown>> } };
  const gw = await gatewayWith(withServices(http.routers));
  t.after(() => gw.close());
  // Router-v2's rule is the longer one, so it is tried first where both match (default priority = rule length).
  assert.equal(await who(`${gw.web}/`, 'foo.traefik.com'), 'V2');
  assert.equal(await who(`${gw.web}/`, 'FOO.Traefik.com:8080'), 'V2', 'hosts are matched lower-cased, port ignored');
  // `{subdomain:[a-z]+}` is one label of letters, anchored; the v3 regexp is unanchored, so it finds a match inside.
  assert.equal(await who(`${gw.web}/`, 'foo-bar.traefik.com'), 'V3');
  assert.equal(await who(`${gw.web}/`, 'a.b.traefik.com'), 'V3');
  assert.equal(await who(`${gw.web}/`, 'traefik.com'), '404');
  const router = (await get(`${gw.admin}/api/http/routers/Router-v2@file`)).json() as { status: string; ruleSyntax?: string };
  assert.equal(router.status, 'enabled');
  assert.equal(router.ruleSyntax, 'v2');
});

test('rules-and-priority "RuleSyntax" example, YAML tab exactly as printed: both routers load; its v3 regexp has doubled backslashes', async (t) => {
  const yaml = readFileSync(join(docs, 'rules-and-priority.01.yaml'), 'utf8');
  const { http } = parseConfigText(yaml, 'yaml', 'rules-and-priority.01.yaml') as { http: { routers: Record<string, Record<string, unknown>> } };
  // A plain YAML scalar keeps `\\.` as two characters: a literal backslash, then any character — as in Traefik.
  assert.equal(http.routers['Router-v3']!.rule, 'HostRegexp(`[a-z]+\\\\.traefik\\\\.com`)');
  const gw = await gatewayWith(withServices(http.routers));
  t.after(() => gw.close());
  assert.equal(await who(`${gw.web}/`, 'foo.traefik.com'), 'V2');
  assert.equal(await who(`${gw.web}/`, 'foo-bar.traefik.com'), '404', 'no host name holds the backslash the printed v3 regexp asks for');
  for (const name of ['Router-v2@file', 'Router-v3@file']) assert.equal((await get(`${gw.admin}/api/http/routers/${name}`)).json().status, 'enabled', name);
});

test('core.defaultRuleSyntax v2: routers without ruleSyntax use v2 (http and tcp), ruleSyntax v3 keeps v3, internal routers are unaffected', async (t) => {
  const echo = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  t.after(() => echo.close());
  const gw = await gatewayWith(JSON.stringify({
    http: {
      routers: {
        // v2 only: several hosts and paths in one matcher, Headers, Query with a template.
        legacy: { entryPoints: ['web'], rule: 'Host(`a.test`, `b.test`) && PathPrefix(`/api`, `/v1`) && Headers(`X-Env`, `prod`)', service: 'v2' },
        query: { entryPoints: ['web'], rule: 'Host(`c.test`) && Query(`id={id:[0-9]+}`)', service: 'v2' },
        modern: { entryPoints: ['web'], rule: 'Host(`a.test`) && Header(`X-Env`, `dev`)', ruleSyntax: 'v3', service: 'v3' },
      },
      services: { v2: { loadBalancer: { servers: [{ url: v2.url }] } }, v3: { loadBalancer: { servers: [{ url: v3.url }] } } },
    },
    tcp: {
      // Two addresses in one ClientIP: a v2 rule (v3 takes one value).
      routers: { echo: { entryPoints: ['raw'], rule: 'ClientIP(`192.0.2.1`, `127.0.0.1`)', service: 'echo' } },
      services: { echo: { loadBalancer: { servers: [{ address: `127.0.0.1:${(echo.address() as AddressInfo).port}` }] } } },
    },
  }), `entryPoints:
  web: { address: "127.0.0.1:0" }
  traefik: { address: "127.0.0.1:0" }
  raw: { address: "127.0.0.1:0" }
${fileProviderYaml()}core:
  defaultRuleSyntax: v2
`);
  t.after(() => gw.close());
  assert.equal(await who(`${gw.web}/v1/x`, 'b.test', { 'x-env': 'prod' }), 'V2');
  assert.equal(await who(`${gw.web}/api`, 'a.test', { 'x-env': 'prod' }), 'V2');
  assert.equal(await who(`${gw.web}/other`, 'a.test', { 'x-env': 'prod' }), '404');
  assert.equal(await who(`${gw.web}/`, 'a.test', { 'x-env': 'dev' }), 'V3');
  assert.equal(await who(`${gw.web}/?id=42`, 'c.test'), 'V2');
  assert.equal(await who(`${gw.web}/?id=4x`, 'c.test'), '404');
  const legacy = (await get(`${gw.admin}/api/http/routers/legacy@file`)).json() as { status: string; ruleSyntax?: string };
  assert.deepEqual([legacy.status, legacy.ruleSyntax], ['enabled', 'v2']);
  // The API's own router (PathPrefix(`/api`) on the traefik entry point) is written in v3 and still answers.
  assert.equal((await get(`${gw.admin}/api/overview`)).status, 200);

  const raw = gw.addresses().raw!;
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(raw.port, '127.0.0.1', () => socket.write('ping\n'));
    socket.setEncoding('utf8');
    socket.once('data', (d: string) => { socket.destroy(); resolve(d); });
    socket.once('error', reject);
  });
  assert.equal(reply, 'ping\n');
});

test('a v2 rule Traefik refuses disables that router only, with the reason on the router', async (t) => {
  const gw = await gatewayWith(JSON.stringify({
    http: {
      routers: {
        'bad-path': { rule: 'Path(`css`)', ruleSyntax: 'v2', service: 'v2' },
        'bad-query': { rule: 'Query(`titi`)', ruleSyntax: 'v2', service: 'v2' },
        'bad-template': { rule: 'HostRegexp(`{sub:[a-z]+.example.com`)', ruleSyntax: 'v2', service: 'v2' },
        good: { rule: 'Path(`/ok`, `/fine`)', ruleSyntax: 'v2', service: 'v3' },
      },
      services: { v2: { loadBalancer: { servers: [{ url: v2.url }] } }, v3: { loadBalancer: { servers: [{ url: v3.url }] } } },
    },
  }));
  t.after(() => gw.close());
  assert.equal(await who(`${gw.web}/fine`, 'x'), 'V3');
  const expected: Record<string, string> = {
    'bad-path@file': 'mux: path must start with a slash, got "css"',
    'bad-query@file': 'mux: number of parameters must be multiple of 2, got [titi]',
    'bad-template@file': 'mux: unbalanced braces in "{sub:[a-z]+.example.com"',
  };
  for (const [name, reason] of Object.entries(expected)) {
    const router = (await get(`${gw.admin}/api/http/routers/${name}`)).json() as { name: string; status: string; error?: string[] };
    assert.equal(router.name, name);
    assert.equal(router.status, 'disabled', name);
    assert.ok(router.error?.some((e) => e.includes(reason)), `${name}: ${JSON.stringify(router.error)} should mention ${reason}`);
  }
});

test('ruleSyntax and core.defaultRuleSyntax take v2 or v3 only, the bad key named', () => {
  assert.throws(() => validateStaticConfig({ core: { defaultRuleSyntax: 'v1' } }), /core\.defaultRuleSyntax: unsupported default rule syntax configuration/);
  assert.equal(validateStaticConfig({ core: {} }).core?.defaultRuleSyntax, 'v3');
  assert.equal(validateStaticConfig({ core: { defaultRuleSyntax: 'v2' } }).core?.defaultRuleSyntax, 'v2');
});
