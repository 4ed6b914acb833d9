/**
 * The sidecar keeps, per source, the L7 decision that does not depend on the request (no intention, or one without
 * permissions) between intentions updates. Each update must replace it: allow → deny → L7 permissions (decided per
 * request again) → deleted (the default), against a real server's blocking intentions match. Decisions as Consul's
 * AgentConnectAuthorize / Envoy's RBAC make them (agent/connect/authz.go AuthorizeIntentionTarget: the governing
 * intention's Action for an L4 intention, the first matching permission for an L7 one).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { IntentionWatcher } from '../../src/proxy/intentions.ts';
import { startServer } from '../../src/server/main.ts';

test('a kept decision follows every intentions update for its source', async (t) => {
  const server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n1', datacenter: 'dc1' }, silentLogger());
  t.after(() => server.close());
  const put = async (body: unknown): Promise<void> => {
    const res = await fetch(`${server.url}/v1/config`, { method: 'PUT', body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.text());
  };
  const watcher = new IntentionWatcher(createClient({ address: server.url, env: {} }), 'api', silentLogger());
  await watcher.start();
  t.after(() => watcher.stop());
  const get = { method: 'GET', path: '/admin', headers: {} };
  const post = { method: 'POST', path: '/admin', headers: {} };

  // No intention: the default (allow with ACLs off), asked twice so the second answer is the kept one.
  assert.equal(watcher.request('web', get).allowed, true);
  assert.equal(watcher.request('web', get).allowed, true);

  await put({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'deny' }] });
  await waitFor(() => !watcher.request('web', get).allowed, 'the deny intention to apply');
  assert.match(watcher.request('web', get).reason, /Matched L4 intention/);
  assert.equal(watcher.request('other', get).allowed, true);

  await put({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'allow', HTTP: { Methods: ['GET'] } }] }] });
  await waitFor(() => watcher.request('web', get).allowed, 'the L7 intention to apply');
  assert.equal(watcher.request('web', post).allowed, true, 'no permission matched: the default (allow)');
  assert.match(watcher.request('web', post).reason, /No permission of L7 intention matched/);
  assert.match(watcher.request('web', get).reason, /Matched permission 0/);

  await put({ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/admin' } }] }] });
  await waitFor(() => !watcher.request('web', get).allowed, 'the L7 deny to apply');
  assert.equal(watcher.request('web', { method: 'GET', path: '/public', headers: {} }).allowed, true);

  const del = await fetch(`${server.url}/v1/config/service-intentions/api`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  await waitFor(() => watcher.request('web', get).allowed, 'the deletion to apply');
  assert.equal(watcher.request('web', get).reason, 'Default behavior configured by ACLs');
});
