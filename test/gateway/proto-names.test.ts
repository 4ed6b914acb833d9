/**
 * Names are Go map keys in Traefik (pkg/config/dynamic: `Routers map[string]*Router`, and so on for services,
 * middlewares, transports, TLS options and the TCP/UDP sections): a router literally named `__proto__` is a router
 * like any other, served as `__proto__@file`. zod's records skip that key, so before this the element vanished
 * without a word; here it is validated, kept and routed, and it never becomes any object's prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { validateDynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { mergeConfigurations } from '../../src/gateway/config/merge.ts';
import { parseConfigText } from '../../src/gateway/config/parse.ts';
import { decodeKvPairs } from '../../src/gateway/providers/kv-decode.ts';
import '../../src/gateway/middlewares/index.ts';
import { fileProviderStaticYaml, get, startGateway, startUpstream, tempDir, eventually } from './helpers.ts';

const YAML = `
http:
  routers:
    __proto__:
      rule: Path(\`/p\`)
      entryPoints: [web]
      service: __proto__
      middlewares: [__proto__]
  services:
    __proto__:
      loadBalancer:
        servers: [{url: "http://127.0.0.1:1"}]
  middlewares:
    __proto__:
      headers:
        customRequestHeaders: {X-Proto: "yes"}
  serversTransports:
    __proto__: {maxIdleConnsPerHost: 3}
tcp:
  routers:
    __proto__: {rule: "HostSNI(\`*\`)", service: __proto__}
  services:
    __proto__: {loadBalancer: {servers: [{address: "127.0.0.1:1"}]}}
udp:
  routers:
    __proto__: {service: __proto__}
  services:
    __proto__: {loadBalancer: {servers: [{address: "127.0.0.1:1"}]}}
tls:
  options:
    __proto__: {minVersion: VersionTLS12}
`;

const own = (map: object, name: string): unknown => (Object.hasOwn(map, name) ? (map as Record<string, unknown>)[name] : undefined);

function assertKept(config: ReturnType<typeof validateDynamicConfig>): void {
  for (const [what, map] of Object.entries({ routers: config.http.routers, services: config.http.services, middlewares: config.http.middlewares })) {
    assert.deepEqual(Object.keys(map), ['__proto__'], what);
    assert.equal(Object.getPrototypeOf(map), Object.prototype, `${what}: the map's prototype is untouched`);
  }
  assert.deepEqual(own(config.http.routers, '__proto__'), { rule: 'Path(`/p`)', entryPoints: ['web'], service: '__proto__', middlewares: ['__proto__'] });
  assert.ok(own(config.http.serversTransports, '__proto__'));
  assert.ok(own(config.tcp!.routers, '__proto__') && own(config.tcp!.services, '__proto__'));
  assert.ok(own(config.udp!.routers, '__proto__') && own(config.udp!.services, '__proto__'));
  assert.deepEqual(own(config.tls.options, '__proto__'), { minVersion: 'VersionTLS12' });
  assert.equal(({} as Record<string, unknown>).rule, undefined, 'nothing polluted');
}

test('YAML and TOML: every kind of element named __proto__ is kept, validated and prototype-free', () => {
  assertKept(validateDynamicConfig(parseConfigText(YAML, 'yaml', 'd.yml'), 'd.yml'));
  const toml = `[http.routers.__proto__]\nrule = "Path(\`/p\`)"\nentryPoints = ["web"]\nservice = "__proto__"\nmiddlewares = ["__proto__"]\n` +
    `[http.services.__proto__.loadBalancer]\nservers = [{url = "http://127.0.0.1:1"}]\n` +
    `[http.middlewares.__proto__.headers.customRequestHeaders]\nX-Proto = "yes"\n` +
    `[http.serversTransports.__proto__]\nmaxIdleConnsPerHost = 3\n` +
    `[tcp.routers.__proto__]\nrule = "HostSNI(\`*\`)"\nservice = "__proto__"\n[tcp.services.__proto__.loadBalancer]\nservers = [{address = "127.0.0.1:1"}]\n` +
    `[udp.routers.__proto__]\nservice = "__proto__"\n[udp.services.__proto__.loadBalancer]\nservers = [{address = "127.0.0.1:1"}]\n` +
    `[tls.options.__proto__]\nminVersion = "VersionTLS12"\n`;
  assertKept(validateDynamicConfig(parseConfigText(toml, 'toml', 'd.toml'), 'd.toml'));
  // Merged with the provider's name; TLS stores keep theirs (Traefik does not qualify them) and stay entries.
  const withStore = validateDynamicConfig(parseConfigText(`${YAML}  stores:\n    __proto__: {}\n`, 'yaml', 'd.yml'), 'd.yml');
  const merged = mergeConfigurations(new Map([['file', withStore]]));
  assert.deepEqual(Object.keys(merged.http.routers), ['__proto__@file']);
  assert.deepEqual(Object.keys(merged.tls.stores), ['__proto__']);
  assert.equal(Object.getPrototypeOf(merged.tls.stores), Object.prototype);
});

test('a bad __proto__ element is refused naming it, never dropped', () => {
  assert.throws(() => validateDynamicConfig(parseConfigText('http:\n  routers:\n    __proto__:\n      rule: Path(`/`)\n      priority: high\n', 'yaml', 'd.yml'), 'd.yml'), (err: Error) => {
    assert.match(err.message, /http\.routers\.__proto__\.priority/);
    assert.ok(!err.message.includes('\u0000'), 'the stand-in name never shows');
    return true;
  });
  assert.throws(() => validateDynamicConfig(parseConfigText('http:\n  services:\n    __proto__:\n      loadBalancer: {servers: [{urll: x}]}\n', 'yaml', 'd.yml'), 'd.yml'), /http\.services\.__proto__\.loadBalancer/);
});

test('KV: a router named __proto__ under traefik/http/routers/ is kept', () => {
  const config = decodeKvPairs([
    ['traefik/http/routers/__proto__/rule', 'Path(`/p`)'],
    ['traefik/http/routers/__proto__/entrypoints/0', 'web'],
    ['traefik/http/routers/__proto__/service', '__proto__'],
    ['traefik/http/routers/__proto__/middlewares', '__proto__'],
    ['traefik/http/services/__proto__/loadbalancer/servers/0/url', 'http://127.0.0.1:1'],
    ['traefik/http/middlewares/__proto__/headers/customrequestheaders/X-Proto', 'yes'],
  ], 'traefik', 'kv');
  assert.deepEqual(Object.keys(config.http.routers), ['__proto__']);
  assert.deepEqual(own(config.http.routers, '__proto__'), { rule: 'Path(`/p`)', entryPoints: ['web'], service: '__proto__', middlewares: ['__proto__'] });
  assert.ok(own(config.http.services, '__proto__') && own(config.http.middlewares, '__proto__'));
});

test('a gateway serves a router, middleware and service all named __proto__ (file provider), as __proto__@file', async (t) => {
  const upstream = await startUpstream('proto');
  t.after(() => upstream.close());
  const dir = await tempDir('mg-gw-proto-');
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, YAML.replace('http://127.0.0.1:1"}]\n  middlewares', `${upstream.url}"}]\n  middlewares`).replace(/^(tcp|udp):[\s\S]*?(?=^tls:)/gm, ''));
  await writeFile(join(dir, 'static.yml'), `${fileProviderStaticYaml(dynamic)}api:\n  insecure: true\n`);
  const gw = await startGateway(join(dir, 'static.yml'));
  t.after(() => gw.close());
  const reply = await eventually(async () => {
    const r = await get(`${gw.web}/p`);
    assert.equal(r.status, 200);
    return r;
  });
  assert.equal(reply.json().upstream, 'proto');
  assert.equal(reply.json().headers['x-proto'], 'yes');
  const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; status: string }>;
  assert.deepEqual(routers.filter((r) => r.name.startsWith('__proto__')).map((r) => [r.name, r.status]), [['__proto__@file', 'enabled']]);
});
