/**
 * Traefik's CLI and environment: one source of static configuration (cmd/traefik: loaders File, Flag, Env in that
 * order, the first that finds something wins — pkg/cli loader_file.go, loader_flag.go, loader_env.go), flags and
 * TRAEFIK_* variables in paerser's spelling, keys Traefik has and Meshgate lacks named as such, and the `healthcheck`
 * (cmd/healthcheck: HEAD /ping on the ping entry point) and `version` commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMeshgateError } from '../../src/lib/errors.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';
import { parseTraefikFlags, resolveStaticSource, traefikEnvFlags } from '../../src/gateway/config/sources.ts';
import { main } from '../../src/cli/main.ts';
import { captureIO } from '../../src/cli/testing.ts';
import { startGateway, staticYaml, tempDir } from './helpers.ts';

test('one source: a config file wins over flags, flags over TRAEFIK_* variables, variables when nothing else', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'static.yml'), 'entryPoints:\n  web:\n    address: ":81"\n');
  const env = { TRAEFIK_ENTRYPOINTS_WEB_ADDRESS: ':83' };
  const file = resolveStaticSource(parseTraefikFlags(['--configFile', 'static.yml', '--entryPoints.web.address=:82']), { env, cwd: dir });
  assert.deepEqual(file, { kind: 'file', file: join(dir, 'static.yml'), ignoredFlags: ['entryPoints.web.address'] });
  const flags = resolveStaticSource(parseTraefikFlags(['--entryPoints.web.address=:82']), { env, cwd: dir });
  assert.deepEqual(flags, { kind: 'flags', overrides: { 'entryPoints.web.address': ':82' } });
  assert.deepEqual(resolveStaticSource({}, { env, cwd: dir }), { kind: 'env', overrides: { 'entrypoints.web.address': ':83' } });
  assert.deepEqual(resolveStaticSource({}, { env: {}, cwd: dir }), { kind: 'none' });
  // Traefik's default locations include ./traefik.{toml,yaml,yml}: found, it is the source even with flags given.
  await writeFile(join(dir, 'traefik.yml'), 'ping: {}\n');
  assert.equal((resolveStaticSource(parseTraefikFlags(['--ping']), { env, cwd: dir }) as { file: string }).file, join(dir, 'traefik.yml'));
  assert.throws(() => resolveStaticSource({ configFile: 'missing.yml' }, { env: {}, cwd: dir }), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_CONFIG_READ'));
});

test('flags in paerser\'s forms build the static configuration: --a.b=v, --a.b v, bare sections, lists, any case', async () => {
  const overrides = parseTraefikFlags([
    '--entryPoints.web.address=127.0.0.1:8081', '--entrypoints.websecure.address', ':8443', '--entryPoints.websecure.http.tls',
    '--ping', '--api.insecure', '--providers.file.filename=/etc/dyn.yml', '--providers.file.watch=false', '--log.level=DEBUG',
    '--accessLog', '--metrics.prometheus.buckets=0.1,0.5', '--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,::1',
    '--providers.consulCatalog.endpoint.address=127.0.0.1:8500',
  ]);
  const config = await loadStaticConfig(undefined, overrides);
  assert.equal(config.entryPoints.web!.address, '127.0.0.1:8081');
  assert.equal(config.entryPoints.websecure!.address, ':8443');
  assert.deepEqual(config.entryPoints.websecure!.http!.tls, {});
  assert.equal(config.ping!.entryPoint, 'traefik');
  assert.equal(config.api!.insecure, true);
  assert.equal(config.providers.file!.filename, '/etc/dyn.yml');
  assert.equal(config.providers.file!.watch, false);
  assert.equal(config.log!.level, 'debug');
  assert.equal(config.accessLog!.format, 'common');
  assert.deepEqual(config.metrics!.prometheus!.buckets, [0.1, 0.5]);
  assert.deepEqual(config.entryPoints.web!.forwardedHeaders!.trustedIPs, ['10.0.0.0/8', '::1']);
  assert.equal(config.providers.consulCatalog!.endpoint.address, '127.0.0.1:8500');
  assert.ok(config.entryPoints.traefik, 'ping and api.insecure bring the implicit traefik entry point');
  assert.equal((await loadStaticConfig(undefined, parseTraefikFlags(['--ping=false', '--entryPoints.web.address=:80']))).ping, undefined);
});

test('TRAEFIK_* variables in paerser\'s spelling (TRAEFIK_ENTRYPOINTS_<NAME>_ADDRESS) build the static configuration', async () => {
  const overrides = traefikEnvFlags({
    TRAEFIK_ENTRYPOINTS_WEB_ADDRESS: ':8000', TRAEFIK_PING: 'true', TRAEFIK_LOG_FORMAT: 'json',
    TRAEFIK_PROVIDERS_CONSULCATALOG_EXPOSEDBYDEFAULT: 'false', TRAEFIK_ENTRYPOINTS_WEB_HTTP_REDIRECTIONS_ENTRYPOINT_TO: ':443', PATH: '/bin',
  });
  assert.equal(overrides.path, undefined, 'only TRAEFIK_ variables');
  const config = await loadStaticConfig(undefined, overrides);
  assert.equal(config.entryPoints.web!.address, ':8000');
  assert.ok(config.ping);
  assert.equal(config.log!.format, 'json');
  assert.equal(config.providers.consulCatalog!.exposedByDefault, false);
  assert.equal(config.entryPoints.web!.http!.redirections!.entryPoint.to, ':443');
});

test('a key Traefik has and Meshgate does not implement is "not supported by meshgate: <path>"; a typo stays "unknown key"', async () => {
  const refused = async (overrides: Record<string, string>, text: string) => {
    await assert.rejects(loadStaticConfig(undefined, overrides), (err: unknown) => {
      assert.ok(isMeshgateError(err, 'MG_GATEWAY_CONFIG_INVALID'));
      assert.match((err as Error).message, new RegExp(text.replaceAll('.', '\\.')));
      return true;
    });
  };
  await refused(parseTraefikFlags(['--certificatesResolvers.le.acme.dnsChallenge.provider=cloudflare']), 'not supported by meshgate: certificatesResolvers.le.acme.dnsChallenge');
  await refused(parseTraefikFlags(['--providers.docker']), 'not supported by meshgate: providers.docker');
  await refused(parseTraefikFlags(['--entryPoints.web.address=:80', '--entryPoints.web.http3']), 'not supported by meshgate: entryPoints.web.http3');
  await refused(traefikEnvFlags({ TRAEFIK_PROVIDERS_SWARM: 'true' }), 'not supported by meshgate: providers.swarm');
  await refused(parseTraefikFlags(['--pingg']), 'pingg: unknown key');
  const dir = await tempDir();
  await writeFile(join(dir, 'static.yml'), 'hostResolver:\n  cnameFlattening: true\nentryPoints:\n  web:\n    address: ":80"\n');
  await assert.rejects(loadStaticConfig(join(dir, 'static.yml')), /not supported by meshgate: hostResolver/);
});

test('meshgate gateway healthcheck: exit 0 and OK when /ping answers, 1 with Traefik\'s messages otherwise', async (t) => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), 'http: {}\n');
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  t.after(() => gw.close());
  const admin = gw.admin.replace('http://', '');
  const ok = captureIO();
  assert.equal(await main(['gateway', 'healthcheck', '--ping', `--entryPoints.traefik.address=${admin}`], ok), 0, ok.stderr);
  assert.equal(ok.stdout, `OK: http://${admin}/ping\n`);
  // The same through TRAEFIK_* variables, as a container's HEALTHCHECK would run it.
  const viaEnv = captureIO({ TRAEFIK_PING: 'true', TRAEFIK_ENTRYPOINTS_TRAEFIK_ADDRESS: admin });
  assert.equal(await main(['gateway', 'healthcheck'], viaEnv), 0, viaEnv.stderr);
  const noPing = captureIO();
  assert.equal(await main(['gateway', 'healthcheck', `--entryPoints.traefik.address=${admin}`], noPing), 1);
  assert.match(noPing.stderr, /please enable `ping` to use health check/);
  await gw.close();
  const down = captureIO();
  assert.equal(await main(['gateway', 'healthcheck', '--ping', `--entryPoints.traefik.address=${admin}`], down), 1);
  assert.match(down.stderr, /^Error calling healthcheck: /);
});

test('meshgate gateway version prints Traefik\'s version layout', async () => {
  const io = captureIO();
  assert.equal(await main(['gateway', 'version'], io), 0);
  assert.match(io.stdout, /^Version: +\d+\.\d+\.\d+\nCodename: +meshgate\nNode version: +v\d+/);
});
