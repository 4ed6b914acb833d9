/** Static and dynamic configuration: Traefik-documentation-shaped files load unchanged; bad keys are named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStaticConfig, validateStaticConfig, applyStaticOverrides } from '../../src/gateway/config/static.ts';
import { validateDynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { parseConfigText, readConfigFile } from '../../src/gateway/config/parse.ts';
import { mergeConfigurations } from '../../src/gateway/config/merge.ts';
import { isMeshgateError } from '../../src/lib/errors.ts';
// The configuration layer validates middlewares against the kinds registered; the gateway's runtime loads the
// built-in ones, and so does this test.
import '../../src/gateway/middlewares/index.ts';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;

function rejects(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isMeshgateError(err, code), `expected ${code}, got ${String(err)}`);
    for (const f of fragments) assert.ok((err as Error).message.includes(f), `"${(err as Error).message}" should mention "${f}"`);
    return true;
  });
}

test('the Traefik-shaped static YAML loads with Traefik defaults filled in', async () => {
  const config = await loadStaticConfig(join(fixtures, 'traefik-static.yml'));
  assert.equal(config.entryPoints.web!.address, ':80');
  assert.equal(config.entryPoints.web!.http!.redirections!.entryPoint.to, 'websecure');
  assert.equal(config.entryPoints.websecure!.transport!.respondingTimeouts!.readTimeout, 42_000);
  assert.equal(config.entryPoints.websecure!.transport!.respondingTimeouts!.idleTimeout, 42_000);
  assert.deepEqual(config.entryPoints.websecure!.forwardedHeaders!.trustedIPs, ['127.0.0.1/32', '192.168.1.7']);
  // api.insecure implies Traefik's internal entry point on :8080.
  assert.equal(config.entryPoints.traefik!.address, ':8080');
  assert.equal(config.providers.file!.directory, '/etc/traefik/dynamic');
  const catalog = config.providers.consulCatalog!;
  assert.equal(catalog.prefix, 'test');
  assert.equal(catalog.exposedByDefault, false);
  assert.equal(catalog.endpoint.token, 'secret-token');
  assert.equal(catalog.refreshInterval, 30_000);
  assert.equal(config.providers.providersThrottleDuration, 2000);
  assert.deepEqual(config.metrics!.prometheus!.buckets, [0.1, 0.3, 1.2, 5.0]);
  assert.equal(config.accessLog!.format, 'json');
  assert.equal(config.accessLog!.filters!.minDuration, 10);
  assert.equal(config.accessLog!.fields!.headers!.names!.Authorization, 'drop');
  // `ping:` with no value switches ping on, on the traefik entry point.
  assert.equal(config.ping!.entryPoint, 'traefik');
  assert.equal(config.log!.level, 'debug');
});

test('the consulCatalog block gets Traefik defaults', () => {
  const config = validateStaticConfig({ providers: { consulCatalog: {} } });
  const catalog = config.providers.consulCatalog!;
  assert.equal(catalog.prefix, 'traefik');
  assert.equal(catalog.exposedByDefault, true);
  assert.equal(catalog.defaultRule, 'Host(`{{ normalize .Name }}`)');
  assert.equal(catalog.endpoint.address, '127.0.0.1:8500');
  assert.equal(catalog.endpoint.scheme, 'http');
  assert.deepEqual(catalog.strictChecks, ['passing', 'warning']);
  assert.equal(catalog.connectAware, false);
  // No entry point at all: Traefik's implicit `http` on :80.
  assert.deepEqual(Object.keys(config.entryPoints), ['http']);
});

test('the Traefik-shaped static TOML loads; relative provider paths resolve beside the file', async () => {
  const config = await loadStaticConfig(join(fixtures, 'traefik-static.toml'));
  assert.equal(config.entryPoints.websecure!.forwardedHeaders!.insecure, true);
  assert.deepEqual(config.entryPoints.websecure!.http!.tls, {});
  assert.equal(config.providers.file!.filename, join(fixtures, 'dynamic.toml'));
  assert.equal(config.api!.insecure, true);
  assert.equal(config.api!.dashboard, true);
  assert.equal(config.metrics!.prometheus!.addEntryPointsLabels, true);
});

test('an unknown static key is an error naming its path, and nothing starts', async () => {
  rejects(() => validateStaticConfig({ entryPoints: { web: { address: ':80', adress: ':81' } } }), 'MG_GATEWAY_CONFIG_INVALID', 'entryPoints.web.adress: unknown key');
  rejects(() => validateStaticConfig({ providers: { consulCatalog: { endpoint: { adress: 'x' } } } }), 'MG_GATEWAY_CONFIG_INVALID', 'providers.consulCatalog.endpoint.adress');
  rejects(() => validateStaticConfig({ accessLog: { format: 'xml' } }), 'MG_GATEWAY_CONFIG_INVALID', 'accessLog.format');
  rejects(() => validateStaticConfig({ providers: { file: { watch: true } } }), 'MG_GATEWAY_CONFIG_INVALID', 'providers.file', 'filename or directory');
  rejects(() => validateStaticConfig({ ping: { entryPoint: 'nope' } }), 'MG_GATEWAY_CONFIG_INVALID', 'ping.entryPoint');
  const dir = await mkdtemp(join(tmpdir(), 'mg-static-'));
  await writeFile(join(dir, 'bad.yml'), 'entryPoints:\n  web:\n    address: ":80"\n   bad-indent: 1\n');
  await assert.rejects(loadStaticConfig(join(dir, 'bad.yml')), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_CONFIG_PARSE') && (err as Error).message.includes('bad.yml'));
  await assert.rejects(loadStaticConfig(join(dir, 'missing.yml')), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_CONFIG_READ'));
});

test('CLI flags in Traefik dotted form override the file and are validated with it', () => {
  const raw = applyStaticOverrides({ entryPoints: { web: { address: ':80' } } }, {
    'entrypoints.web.address': '127.0.0.1:8081',
    'api.insecure': 'true',
    '--entryPoints.web.forwardedHeaders.trustedIPs': '10.0.0.0/8,::1',
  });
  const config = validateStaticConfig(raw);
  assert.equal(config.entryPoints.web!.address, '127.0.0.1:8081');
  assert.equal(config.api!.insecure, true);
  assert.deepEqual(config.entryPoints.web!.forwardedHeaders!.trustedIPs, ['10.0.0.0/8', '::1']);
  rejects(() => validateStaticConfig(applyStaticOverrides({}, { 'api.insecur': 'true' })), 'MG_GATEWAY_CONFIG_INVALID', 'api.insecur: unknown key');
});

test('the Traefik-shaped dynamic YAML and TOML validate to the same configuration', async () => {
  const yml = validateDynamicConfig(await readConfigFile(join(fixtures, 'traefik-dynamic.yml')), 'yml');
  const toml = validateDynamicConfig(await readConfigFile(join(fixtures, 'traefik-dynamic.toml')), 'toml');
  assert.deepEqual(toml, yml);
  assert.deepEqual(Object.keys(yml.http.routers).sort(), ['blog', 'my-router', 'router0']);
  assert.deepEqual(yml.http.routers.router0!.middlewares, ['my-basic-auth']);
  assert.equal((yml.http.services.app as { weighted: { services: unknown[] } }).weighted.services.length, 2);
});

test('a dynamic document that breaks the schema is rejected naming the key', () => {
  rejects(() => validateDynamicConfig({ http: { routers: { r: { rule: 'Path(`/`)', servce: 'x' } } } }, 'f.yml'), 'MG_GATEWAY_CONFIG_INVALID', 'f.yml', 'http.routers.r.servce: unknown key');
  // ruleSyntax v2 loads (gateway/rules/matchers-v2.ts); a value that is neither v2 nor v3 is refused, naming the key.
  rejects(() => validateDynamicConfig({ http: { routers: { r: { rule: 'Path(`/`)', ruleSyntax: 'v4' } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.routers.r.ruleSyntax', '"v2" or "v3"');
  rejects(() => validateDynamicConfig({ http: { services: { s: { loadBalancer: { servers: [{ url: 'http://a', wieght: 1 }] } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.services.s.loadBalancer.servers[0].wieght: unknown key');
  rejects(() => validateDynamicConfig({ http: { middlewares: { m: { stripPrefix: { prefix: ['/a'] } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.middlewares.m.stripPrefix.prefix: unknown key');
  rejects(() => validateDynamicConfig({ http: { middlewares: { m: { noSuchKind: {} } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.middlewares.m.noSuchKind', 'unknown middleware kind');
  rejects(() => validateDynamicConfig({ http: { middlewares: { m: { addPrefix: { prefix: '/a' }, stripPrefix: { prefixes: ['/a'] } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.middlewares.m', 'exactly one kind');
  rejects(() => validateDynamicConfig({ http: { middlewares: { m: { plugin: { notInstalled: {} } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'not installed');
  // tcp and udp are Traefik sections Meshgate now reads (gateway/tcp); their keys are checked like http's.
  rejects(() => validateDynamicConfig({ tcp: { routers: { r: { rule: 'HostSNI(`*`)', service: 's', entryPoint: 'a' } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'tcp.routers.r.entryPoint: unknown key');
  rejects(() => validateDynamicConfig({ udp: { services: { s: { loadBalancer: { servers: [{ url: 'x' }] } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'udp.services.s.loadBalancer.servers[0].url: unknown key');
  rejects(() => validateDynamicConfig({ tcps: {} }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'tcps: unknown key');
  rejects(() => parseConfigText('http: [', 'yaml', 'x.yml'), 'MG_GATEWAY_CONFIG_PARSE', 'x.yml');
  rejects(() => parseConfigText('[http\n', 'toml', 'x.toml'), 'MG_GATEWAY_CONFIG_PARSE', 'x.toml');
});

test('an empty dynamic file is an empty configuration', () => {
  const config = validateDynamicConfig(parseConfigText('', 'yaml', 'e.yml'), 'e.yml');
  assert.deepEqual(config.http.routers, {});
  assert.deepEqual(validateDynamicConfig({ http: null }, 'n').http.services, {});
});

test('providers merge with qualified names; references stay as written', () => {
  const file = validateDynamicConfig({ http: { routers: { r: { rule: 'Path(`/`)', service: 's' } }, services: { s: { loadBalancer: { servers: [{ url: 'http://a' }] } } } } }, 'f');
  const catalog = validateDynamicConfig({ http: { services: { s: { loadBalancer: { servers: [{ url: 'http://b' }] } } } } }, 'c');
  const merged = mergeConfigurations(new Map([['file', file], ['consulcatalog', catalog]]));
  assert.deepEqual(Object.keys(merged.http.services).sort(), ['s@consulcatalog', 's@file']);
  assert.equal(merged.http.routers['r@file']!.service, 's');
});

// Traefik v3.7's load-balancing reference page ("Service"): its configuration example, as written there.
test('Traefik v3.7 additions: strategy, passiveHealthcheck and the page\'s lower-case healthcheck load; what is not implemented yet is named as such', () => {
  const page = {
    http: {
      services: {
        'my-service': {
          loadBalancer: {
            strategy: 'wrr',
            servers: [{ url: 'http://private-ip-server-1/', weight: 2, preservePath: true }],
            sticky: { cookie: { name: 'sticky-cookie' } },
            healthcheck: { path: '/health', interval: '10s', timeout: '3s' },
            passHostHeader: true,
            serversTransport: 'customTransport@file',
            responseForwarding: { flushInterval: '150ms' },
          },
        },
      },
    },
  };
  const loaded = validateDynamicConfig(page, 'page');
  assert.equal((loaded.http.services['my-service'] as { loadBalancer: { healthCheck: { path: string } } }).loadBalancer.healthCheck.path, '/health');
  const withPassive = structuredClone(page) as { http: { services: Record<string, { loadBalancer: Record<string, unknown> }> } };
  withPassive.http.services['my-service']!.loadBalancer.passiveHealthcheck = { failureWindow: '3s', maxFailedAttempts: '3' };
  // The page writes maxFailedAttempts as the string "3"; Traefik's loader reads it as the number.
  const passive = validateDynamicConfig(withPassive, 'f').http.services['my-service'] as { loadBalancer: { passiveHealthCheck: unknown } };
  assert.deepEqual(passive.loadBalancer.passiveHealthCheck, { failureWindow: '3s', maxFailedAttempts: 3 });
  validateDynamicConfig({ http: { services: { s: { loadBalancer: { strategy: 'p2c', servers: [] } } } } }, 'f');
  rejects(() => validateDynamicConfig({ http: { services: { s: { loadBalancer: { strategy: 'random', servers: [] } } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.services.s.loadBalancer.strategy');
  // TCP transports take Traefik's tls.spiffe as the HTTP ones do (test/gateway/spiffe-tcp.test.ts).
  validateDynamicConfig({ tcp: { serversTransports: { t: { tls: { spiffe: { ids: ['spiffe://x/y'] } } } } } }, 'f');
  validateDynamicConfig({ http: { routers: { child: { rule: 'Path(`/`)', parentRefs: ['parent'] } } } }, 'f');
  rejects(() => validateDynamicConfig({ http: { routers: { r: { rule: 'Path(`/`)', servce: 'x' } } } }, 'f'), 'MG_GATEWAY_CONFIG_INVALID', 'http.routers.r.servce: unknown key');
});
