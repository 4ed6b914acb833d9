/**
 * `meshgate agent` end to end, second part (same setup, test/agent/e2e-fixture.ts): templates rendered from blocking
 * queries (consul-template's key/keyOrDefault, wait, command once per change), the catalog repaired by anti-entropy
 * after a kill -9 and restart of the server with an empty catalog (agent/local/state.go SyncFull), and sidecar
 * supervision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { agentE2E, WAIT } from './e2e-fixture.ts';

const e2e = agentE2E('meshgate-agent-repair-');

test('a KV change re-renders the template atomically and runs its command once per change', async () => {
  const count = () => (existsSync(e2e.countFile) ? readFileSync(e2e.countFile, 'utf8').split('\n').filter(Boolean).length : 0);
  assert.equal(existsSync(e2e.rendered), false, 'nothing rendered while app/port is missing (key waits for its key)');
  await fetch(`${e2e.server.url}/v1/kv/app/port`, { method: 'PUT', body: '8080' });
  await waitFor(() => existsSync(e2e.rendered) && readFileSync(e2e.rendered, 'utf8') === 'port=8080\nmode=normal\n', 'first render', WAIT);
  await waitFor(() => count() === 1, 'the command after the first render', WAIT);
  await fetch(`${e2e.server.url}/v1/kv/app/port`, { method: 'PUT', body: '9090' });
  await waitFor(() => readFileSync(e2e.rendered, 'utf8') === 'port=9090\nmode=normal\n', 're-render after the KV change', WAIT);
  await waitFor(() => count() === 2, 'the command after the re-render', WAIT);
  // A write that leaves the rendered text unchanged, and one to a key the template does not read, run nothing:
  // proven by the next real change bringing the count to exactly 3.
  await fetch(`${e2e.server.url}/v1/kv/app/port`, { method: 'PUT', body: '9090' });
  await fetch(`${e2e.server.url}/v1/kv/unrelated`, { method: 'PUT', body: 'x' });
  await new Promise((r) => setTimeout(r, 1500));
  await fetch(`${e2e.server.url}/v1/kv/app/mode`, { method: 'PUT', body: 'safe' });
  await waitFor(() => readFileSync(e2e.rendered, 'utf8') === 'port=9090\nmode=safe\n', 'keyOrDefault follows its key', WAIT);
  await waitFor(() => count() >= 3, 'the third command', WAIT);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(count(), 3, 'exactly one command run per change');
});

test('kill -9 of the server and a restart with an empty catalog: anti-entropy repairs the node within its interval', async () => {
  // A fresh data dir on the same address: everything the agent had registered is gone from the catalog.
  await e2e.replaceServer();
  await waitFor(async () => (await e2e.serviceIds()).join(',') === 'api,web,web-sidecar-proxy', 'the node\'s services back in the catalog', WAIT);
  await waitFor(async () => (await e2e.nodeChecks()).find((c) => c.CheckID === 'web-http')?.Status === 'passing', 'web-http passing again', WAIT);
  const node = await e2e.nodeServices();
  assert.equal(node.Node?.Node, 'vm-1');
});

test('sidecars are supervised: started with -sidecar-for and the agent address, token in the environment, restarted after a failure', async () => {
  const lines = await waitFor(() => {
    const l = existsSync(e2e.proxyLog) ? readFileSync(e2e.proxyLog, 'utf8').split('\n').filter(Boolean) : [];
    return l.length >= 2 ? l : undefined;
  }, 'a restart of the failed sidecar', WAIT);
  assert.match(lines[0]!, new RegExp(`^start args=proxy -sidecar-for web -http-addr ${e2e.agent.addr.replace(/\./g, '\\.')} token=web-token pid=\\d+$`));
  assert.match(lines[1]!, /^start args=proxy -sidecar-for web /);
  assert.match(e2e.agent.output(), /\[sidecar web-sidecar-proxy\] hello from the proxy/);
  const pid = Number(/pid=(\d+)/.exec(lines[1]!)![1]);
  assert.doesNotThrow(() => process.kill(pid, 0), 'the second start keeps running');
  await e2e.agent.stop();
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 'the sidecar stopped with the agent', WAIT);
});
