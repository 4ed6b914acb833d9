/**
 * /v1/agent/metrics exports what Meshgate measures under Consul's names, types and units (the agent telemetry
 * reference, developer.hashicorp.com/consul/docs/reference/agent/telemetry: consul.kvs.apply and
 * consul.catalog.register are timers in ms, consul.health.service.query a counter, consul.api.http a timer labelled
 * by method and path with `_` for names, consul.runtime.* gauges), as its Prometheus sink spells them
 * (`consul_kvs_apply`, summaries with 0.5/0.9/0.99 quantiles) and its JSON sink names them (`consul.kvs.apply`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
  await (await fetch(`${server.url}/v1/kv/metrics/a`, { method: 'PUT', body: '1' })).text();
  await (await fetch(`${server.url}/v1/kv/metrics/a`, { method: 'DELETE' })).text();
  await (await fetch(`${server.url}/v1/catalog/register`, {
    method: 'PUT', body: JSON.stringify({ Node: 'ext', Address: '10.1.1.1', Service: { Service: 'db', Port: 5432 } }),
  })).text();
  await (await fetch(`${server.url}/v1/health/service/db`)).text();
  await (await fetch(`${server.url}/v1/catalog/service/db`)).text();
});
after(() => server.close());

test('Prometheus form: Consul\'s metric names for what Meshgate measures', async () => {
  const text = await (await fetch(`${server.url}/v1/agent/metrics?format=prometheus`)).text();
  const value = (series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} missing`);
    return Number(line.split(' ')[1]);
  };
  assert.match(text, /^# TYPE consul_kvs_apply summary$/m);
  assert.match(text, /^consul_kvs_apply\{quantile="0\.99"\} /m);
  assert.equal(value('consul_kvs_apply_count'), 2, 'one PUT and one DELETE');
  assert.equal(value('consul_catalog_register_count'), 1);
  assert.equal(value('consul_health_service_query{service="db"}'), 1);
  assert.equal(value('consul_catalog_service_query{service="db"}'), 1);
  assert.equal(value('consul_api_http_count{method="PUT",path="v1.kv._"}'), 1);
  assert.ok(value('consul_runtime_alloc_bytes') > 0);
  assert.ok(value('consul_runtime_sys_bytes') > 0);
  assert.ok(value('consul_raft_apply') >= 3);
  assert.equal(value('consul_state_kv_entries'), 0);
  assert.ok(value('consul_state_nodes') >= 2);
  assert.equal(value('consul_server_isLeader'), 1);
});

test('JSON form: dotted Consul names in Samples, Counters and Gauges', async () => {
  const body = (await (await fetch(`${server.url}/v1/agent/metrics`)).json()) as Record<string, Array<{ Name: string; Count?: number }>>;
  const kvs = body.Samples!.find((s) => s.Name === 'consul.kvs.apply');
  assert.equal(kvs?.Count, 2);
  assert.ok(body.Counters!.some((c) => c.Name === 'consul.health.service.query'));
  assert.ok(body.Gauges!.some((g) => g.Name === 'consul.runtime.alloc_bytes'));
});
