/**
 * Traefik's Prometheus options scraped from a real gateway: `headerLabels` (each label takes its request header's
 * value, empty when absent, on the `*_requests_total` counters of entry points, routers and services), `buckets`,
 * `metrics.addInternals` (internal routers such as prometheus@internal are not measured without it), and a label
 * name Prometheus would reject refused at load. As read in traefik/traefik: the "Metrics > Prometheus" page
 * (headerLabels: "If the header is not present in the request it will be added nonetheless with an empty value"),
 * pkg/metrics/prometheus.go (headerLabels appended to the requests-total label names only) and the router
 * "Observability" page's AddInternals section.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatewayToUpstream, get, startUpstream, tempDir, type Upstream } from './helpers.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('A');
});
after(() => upstream.close());

const gatewayWith = (metrics: string) => gatewayToUpstream(upstream.url, metrics, 'mg-prom-');

/** The value of the one sample of `name` whose labels include every pair of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length >= Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

test('headerLabels label the requests counters of entry points, routers and services with the header values; buckets are used', async (t) => {
  const gw = await gatewayWith(`metrics:
  prometheus:
    addRoutersLabels: true
    buckets: [0.25, 2.5]
    headerLabels:
      useragent: User-Agent
      tenant: X-Tenant
`);
  t.after(() => gw.close());
  for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.web}/a`, { headers: { 'user-agent': 'probe/1', 'x-tenant': 'acme' } })).status, 200);
  assert.equal((await get(`${gw.web}/b`, { headers: { 'user-agent': 'probe/2' } })).status, 200);
  const text = (await get(`${gw.admin}/metrics`)).text;
  const base = { code: '200', method: 'GET', protocol: 'http' };
  assert.equal(sample(text, 'traefik_entrypoint_requests_total', { ...base, entrypoint: 'web', useragent: 'probe/1', tenant: 'acme' }), 3);
  assert.equal(sample(text, 'traefik_entrypoint_requests_total', { ...base, entrypoint: 'web', useragent: 'probe/2', tenant: '' }), 1, 'absent header: empty value');
  assert.equal(sample(text, 'traefik_router_requests_total', { ...base, router: 'app@file', service: 'app@file', useragent: 'probe/1', tenant: 'acme' }), 3);
  assert.equal(sample(text, 'traefik_service_requests_total', { ...base, service: 'app@file', useragent: 'probe/2', tenant: '' }), 1);
  // Only the requests counters carry header labels; the histogram has one series per entry point combination.
  assert.equal(sample(text, 'traefik_entrypoint_request_duration_seconds_count', { ...base, entrypoint: 'web' }), 4);
  assert.doesNotMatch(text, /traefik_entrypoint_request_duration_seconds_count\{[^}]*useragent=/);
  assert.match(text, /traefik_entrypoint_request_duration_seconds_bucket\{[^}]*le="0.25"/);
  assert.match(text, /traefik_entrypoint_request_duration_seconds_bucket\{[^}]*le="2.5"/);
  assert.doesNotMatch(text, /le="1.2"/, "the configured buckets replace Traefik's defaults");
});

test('metrics.addInternals: the prometheus@internal router is measured only with it', async (t) => {
  for (const addInternals of [false, true]) {
    const gw = await gatewayWith(`metrics:
  addInternals: ${addInternals}
  prometheus:
    addRoutersLabels: true
`);
    t.after(() => gw.close());
    await get(`${gw.admin}/metrics`);
    const text = (await get(`${gw.admin}/metrics`)).text;
    const internal = sample(text, 'traefik_entrypoint_requests_total', { code: '200', entrypoint: 'traefik' });
    if (addInternals) assert.ok((internal ?? 0) >= 1, 'with addInternals the scrape itself is counted');
    else assert.equal(internal, undefined, 'without addInternals the internal router is not measured');
  }
});

test('a headerLabels key that is not a Prometheus label name is refused, naming it', async () => {
  const dir = await tempDir('mg-prom-bad-');
  await writeFile(join(dir, 'static.yml'), 'metrics:\n  prometheus:\n    headerLabels:\n      user-agent: User-Agent\n');
  await assert.rejects(loadStaticConfig(join(dir, 'static.yml')), /metrics\.prometheus\.headerLabels\.user-agent/);
});
