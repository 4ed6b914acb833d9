/**
 * A request no router takes is traced as Traefik traces it: the muxer's default handler is the entry point chain
 * around http.NotFoundHandler (pkg/server/router/router.go buildEntryPointHandler → observabilityMgr.BuildEPChain
 * with no router), so the 404 gets one EntryPoint server span continuing the client's trace, and nothing when the
 * entry point's `observability.tracing` is false.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGateway } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { eventually, get, tempDir } from './helpers.ts';
import { SPAN_KIND, startHttpReceiver } from './otlp-receiver.ts';

test('a 404 from no matching router gets the EntryPoint span of its entry point (none where tracing is off)', async (t) => {
  const receiver = await startHttpReceiver();
  t.after(() => receiver.close());
  const work = await tempDir('mg-gw-trace404-');
  await writeFile(join(work, 'dynamic.yml'), 'http:\n  routers:\n    only:\n      rule: "Path(`/only`)"\n      service: noop@internal\n');
  // JSON is YAML.
  await writeFile(join(work, 'gateway.yml'), JSON.stringify({
    entryPoints: { web: { address: '127.0.0.1:0' }, quiet: { address: '127.0.0.1:0', observability: { tracing: false } } },
    providers: { file: { filename: join(work, 'dynamic.yml') } },
    tracing: { otlp: { http: { endpoint: receiver.endpoint } } },
  }));
  const gw = await runGateway({ configFile: join(work, 'gateway.yml'), workers: 1, handleSignals: false, logger: silentLogger() });
  let closed = false;
  t.after(() => (closed ? undefined : gw.close()));
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const web = `http://127.0.0.1:${gw.addresses().web!.port}`;
  const quiet = `http://127.0.0.1:${gw.addresses().quiet!.port}`;
  assert.equal((await get(`${web}/nowhere?x=1`, { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } })).status, 404);
  assert.equal((await get(`${quiet}/quiet-nowhere`)).status, 404);
  // Closing exports what the batch processor holds.
  await gw.close();
  closed = true;
  await eventually(async () => assert.ok(receiver.spans.some((s) => s.attributes['url.path'] === '/nowhere'), 'the 404\'s span'));
  const spans = receiver.spans.filter((s) => s.traceId === trace);
  assert.deepEqual(spans.map((s) => s.name), ['EntryPoint']);
  const ep = spans[0]!;
  assert.equal(ep.kind, SPAN_KIND.server);
  assert.equal(ep.parentSpanId, '00f067aa0ba902b7');
  assert.equal(ep.attributes['http.response.status_code'], 404);
  assert.equal(ep.attributes.entry_point, 'web');
  assert.ok(!receiver.spans.some((s) => s.attributes['url.path'] === '/quiet-nowhere'), 'quiet has observability.tracing false');
});
