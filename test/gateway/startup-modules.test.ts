/**
 * What a gateway loads at start-up: a feature's packages are loaded only when the configuration uses the feature
 * (ACME's acme-client, rateLimit.redis's ioredis, healthCheck.mode grpc's grpc-js, jwt's jose, basicAuth's bcryptjs, tracing's
 * @opentelemetry/api, the push metrics backends' hot-shots, InfluxDB client and OpenTelemetry metrics SDK), because every module loaded stays
 * resident for the life of the process (docs/benchmarks.md, "Gateway memory"). Each case runs in a fresh Node
 * process — a module cache is per process — that records every module URL the loader resolves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAIN = new URL('../../src/gateway/main.ts', import.meta.url).href;
const LOGGER = new URL('../../src/lib/logger.ts', import.meta.url).href;

/** Starts runGateway (1 worker) on `staticYaml` in a child process; returns the module URLs it loaded, then stops it. */
async function loadedModules(dir: string, staticYaml: string): Promise<string[]> {
  const configFile = join(dir, 'static.yml');
  writeFileSync(configFile, staticYaml);
  const script = `
    import { registerHooks } from 'node:module';
    const urls = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.add(r.url); return r; } });
    const { runGateway } = await import(${JSON.stringify(MAIN)});
    const { silentLogger } = await import(${JSON.stringify(LOGGER)});
    const handle = await runGateway({ configFile: ${JSON.stringify(configFile)}, workers: 1, lastGoodFile: false, handleSignals: false, logger: silentLogger() });
    await handle.close();
    process.stdout.write(JSON.stringify([...urls]));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as string[];
}

const fromPackage = (urls: string[], name: string) => urls.some((u) => u.includes(`/node_modules/${name}/`));

test('a gateway without ACME, Redis rate limits, gRPC health checks, jwt, bcrypt, tracing or a TLS handshake loads none of their packages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'dynamic.yml'), [
    'http:',
    '  routers:', '    app:', '      rule: "PathPrefix(`/`)"', '      service: app', '      middlewares: [limit]',
    '  middlewares:', '    limit:', '      rateLimit:', '        average: 100',
    '  services:', '    app:', '      loadBalancer:', '        servers:', '          - url: "http://127.0.0.1:9"',
    '        healthCheck:', '          path: /health', '          interval: 1h', '',
  ].join('\n'));
  const urls = await loadedModules(dir, [
    'entryPoints:', '  web:', '    address: "127.0.0.1:0"',
    'providers:', '  file:', `    filename: "${join(dir, 'dynamic.yml')}"`,
    'metrics:', '  prometheus: {}', '',
  ].join('\n'));
  // The recorder works: the metrics library this configuration needs is among the loaded modules.
  assert.ok(fromPackage(urls, 'prom-client'), 'prom-client loaded');
  // …and log.otlp / accessLog.otlp's logs SDK and exporters (gateway/otlp-logs/load.ts), the etcd provider's etcd3, and the push metrics backends' libraries.
  for (const name of ['acme-client', 'ioredis', '@grpc/grpc-js', '@grpc/proto-loader', 'jose', 'bcryptjs', '@opentelemetry/sdk-logs', '@opentelemetry/exporter-logs-otlp-http', 'etcd3',
    'hot-shots', '@influxdata/influxdb-client', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-metrics-otlp-http']) {
    assert.ok(!fromPackage(urls, name), `${name} is not loaded`);
  }
  // Every entry point can speak TLS, but the TRAEFIK DEFAULT CERT (and @peculiar/x509, ~10 MiB of heap) is made on
  // the first TLS handshake that needs it (entrypoints/default-certificate.ts), and none happened here.
  assert.ok(urls.some((u) => u.endsWith('/src/gateway/entrypoints/tls-handshake.ts')), 'the TLS entry point code is loaded');
  assert.ok(!fromPackage(urls, '@peculiar/x509'), '@peculiar/x509 is not loaded');
  assert.ok(!urls.some((u) => u.endsWith('/src/gateway/entrypoints/self-signed.ts')), 'the certificate builder is not loaded');
  // The Tailscale certificate resolvers (gateway/tailscale) load only when one is configured.
  assert.deepEqual(urls.filter((u) => /\/src\/gateway\/tailscale\/(manager|resolver|localapi|certificate|domains)\.ts$/.test(u)), []);
  // OCSP stapling (static `ocsp`) is loaded only when configured.
  assert.ok(!urls.some((u) => u.endsWith('/src/gateway/entrypoints/ocsp.ts')), 'the OCSP stapler is not loaded');
  // The KV providers' store modules (and so etcd3, ioredis) load only when providers.consul/etcd/redis is configured.
  assert.deepEqual(urls.filter((u) => /\/providers\/kv-(consul|etcd|redis)\.ts$/.test(u)), []);
  // prom-client loads @opentelemetry/api's CommonJS build; without tracing its ES module build is not loaded too.
  assert.deepEqual(urls.filter((u) => u.includes('/node_modules/@opentelemetry/api/') && u.endsWith('.mjs')), []);
});

test('a gateway with metrics.statsD loads hot-shots, and neither the InfluxDB client nor the OpenTelemetry metrics SDK', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const urls = await loadedModules(dir, [
    'entryPoints:', '  web:', '    address: "127.0.0.1:0"',
    'metrics:', '  statsD:', '    address: "127.0.0.1:9"', '',
  ].join('\n'));
  assert.ok(fromPackage(urls, 'hot-shots'), 'hot-shots loaded');
  for (const name of ['@influxdata/influxdb-client', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-metrics-otlp-http', '@opentelemetry/exporter-metrics-otlp-grpc']) {
    assert.ok(!fromPackage(urls, name), `${name} is not loaded`);
  }
});

test('a gateway with a tailscale certificate resolver loads gateway/tailscale, and not acme-client', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const urls = await loadedModules(dir, [
    'entryPoints:', '  websecure:', '    address: "127.0.0.1:0"',
    'certificatesResolvers:', '  myresolver:', '    tailscale:', `      socket: "${join(dir, 'none.sock')}"`, '',
  ].join('\n'));
  assert.ok(urls.some((u) => u.endsWith('/src/gateway/tailscale/manager.ts')), 'the tailscale manager is loaded');
  assert.ok(!fromPackage(urls, 'acme-client'), 'acme-client is not loaded');
  assert.ok(!urls.some((u) => u.endsWith('/src/gateway/acme/manager.ts')), 'the ACME manager is not loaded');
});
