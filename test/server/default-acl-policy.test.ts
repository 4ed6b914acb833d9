/**
 * Every response carries `X-Consul-Default-ACL-Policy` — Consul's docs (API overview, "Default ACL Policy"): "All
 * API responses for Consul versions after 1.9 will include an HTTP response header X-Consul-Default-ACL-Policy set
 * to either allow or deny which mirrors the current value of the agent's acl.default_policy option … This is also
 * the default intention enforcement action if no intention matches. This is returned even if ACLs are disabled."
 * The sidecar's intention watcher takes its default from it, so with default deny an unmatched source is refused.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { IntentionWatcher } from '../../src/proxy/intentions.ts';
import { startServer } from '../../src/server/main.ts';

test('ACLs off: every response says allow', async (t) => {
  const server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n1', datacenter: 'dc1' }, silentLogger());
  t.after(() => server.close());
  for (const path of ['/v1/status/leader', '/v1/kv/missing', '/v1/no-such-route']) {
    assert.equal((await fetch(`${server.url}${path}`)).headers.get('x-consul-default-acl-policy'), 'allow', path);
  }
});

test('default deny: success and refusal both say deny, and a sidecar refuses an unmatched source', async (t) => {
  const management = randomUUID();
  const server = await startServer({
    dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n1', datacenter: 'dc1',
    acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: management } },
  }, silentLogger());
  t.after(() => server.close());
  const ok = await fetch(`${server.url}/v1/status/leader`);
  assert.equal(ok.headers.get('x-consul-default-acl-policy'), 'deny');
  const refused = await fetch(`${server.url}/v1/kv/secret`);
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get('x-consul-default-acl-policy'), 'deny');

  const watcher = new IntentionWatcher(createClient({ address: server.url, token: management, env: {} }), 'web', silentLogger());
  await watcher.start();
  t.after(() => watcher.stop());
  assert.equal(watcher.connection('anything').allowed, false);
});
