/**
 * The ACL system through the HTTP API of a real server, on SQLite and on etcd: bootstrap once (Consul's 403 with
 * the reset index, then the `acl-bootstrap-reset` procedure — agent/consul/acl_endpoint.go BootstrapTokens), the
 * global-management policy's limits (PolicySet/PolicyDelete), token CRUD, clone, self and list filters (TokenSet,
 * TokenClone, TokenList, agent/acl_endpoint.go), the secret shown only to acl:write ("<hidden>" otherwise, as
 * TokenRead redacts), expiry (ExpirationTTL: an expired token stops resolving and is reaped), roles and identities
 * giving permissions, the anonymous, initial-management and default tokens, and — the point of hashing — no
 * SecretID created here appears in the store (SQLite files, etcd values, a /v1/snapshot archive) or in any log line.
 * The npm `consul` client bootstraps through its own `acl.bootstrap()`. Revocation and reaping: acl-expiry.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import Consul from 'consul';
import { Etcd3 } from 'etcd3';
import { createLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID } from '../../src/server/acl/authorizer.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer, StoreChoice } from '../../src/server/options.ts';
import { startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { tempDir } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

interface Reply<T = any> { status: number; body: T; text: string }

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

function logSink(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(`ACL over HTTP on ${backend}`, () => {
    let server: RunningServer;
    let url: string;
    const dir = tempDir('meshgate-acl-');
    const logs = logSink();
    const prefix = `/meshgate-acl-${randomUUID()}`;
    /** Every SecretID this suite saw: none may be found in the store or the logs. */
    const secrets = new Set<string>();
    let management = '';

    async function call<T = any>(method: string, path: string, options: { token?: string; body?: unknown; raw?: string } = {}): Promise<Reply<T>> {
      const headers: Record<string, string> = {};
      if (options.token !== undefined) headers['X-Consul-Token'] = options.token;
      const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      if (res.headers.get('content-type')?.includes('json')) parsed = JSON.parse(text);
      const reply = { status: res.status, body: parsed as T, text };
      const maybe = parsed as { SecretID?: unknown } | undefined;
      if (maybe && typeof maybe === 'object' && typeof maybe.SecretID === 'string' && maybe.SecretID !== '<hidden>' && maybe.SecretID !== 'anonymous') {
        secrets.add(maybe.SecretID);
      }
      return reply;
    }

    before(async () => {
      const store: StoreChoice = backend === 'etcd' ? { backend: 'etcd', endpoints: [etcd.url], prefix } : { backend: 'sqlite' };
      server = await startServer(
        {
          dev: false, dataDir: dir.path, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', store,
          acl: { enabled: true, defaultPolicy: 'deny', tokenMinExpirationTtlMs: 1_000 },
        },
        createLogger({ name: 'server', level: 'debug', destination: logs.stream }),
      );
      url = server.url;
    });
    after(async () => {
      await server?.close();
      dir.remove();
    });

    test('bootstrap works once, then answers 403 with the reset index; the reset file allows one more', async () => {
      const first = await call('PUT', '/v1/acl/bootstrap');
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.Description, 'Bootstrap Token (Global Management)');
      assert.deepEqual(first.body.Policies, [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: 'global-management' }]);
      assert.equal(first.body.ID, first.body.SecretID, 'the legacy ID field carries the secret (aclBootstrapResponse)');
      management = first.body.SecretID;

      const again = await call('PUT', '/v1/acl/bootstrap');
      assert.equal(again.status, 403);
      const m = /^Permission denied: ACL bootstrap no longer allowed \(reset index: (\d+)\)$/.exec(again.text);
      assert.ok(m, again.text);

      writeFileSync(join(dir.path, 'acl-bootstrap-reset'), `${Number(m[1]) + 1}\n`);
      assert.equal((await call('PUT', '/v1/acl/bootstrap')).status, 403, 'a wrong reset index does not reset');
      writeFileSync(join(dir.path, 'acl-bootstrap-reset'), `${m[1]}\n`);
      const reset = await call('PUT', '/v1/acl/bootstrap');
      assert.equal(reset.status, 200, reset.text);
      assert.notEqual(reset.body.SecretID, management);
      assert.equal((await call('PUT', '/v1/acl/bootstrap')).status, 403, 'the reset file is used up');
      assert.throws(() => readFileSync(join(dir.path, 'acl-bootstrap-reset')), /ENOENT/);
    });

    test('without a token, the anonymous token is used and default deny refuses acl:read', async () => {
      const anon = await call('GET', '/v1/acl/tokens');
      assert.equal(anon.status, 403);
      assert.match(anon.text, /^Permission denied: anonymous token lacks permission 'acl:read'\. The anonymous token is used implicitly/);
      const bogus = await call('GET', '/v1/acl/tokens', { token: randomUUID() });
      assert.equal(bogus.status, 403);
      assert.equal(bogus.text, 'ACL not found');
    });

    test('policies: create, read by ID and name, update, list, delete; rules validated naming the rule', async () => {
      const created = await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'kv-app', Description: 'app keys', Rules: 'key_prefix "app/" { policy = "write" }' } });
      assert.equal(created.status, 200, created.text);
      const id = created.body.ID as string;
      assert.equal((await call('GET', `/v1/acl/policy/${id}`, { token: management })).body.Rules, 'key_prefix "app/" { policy = "write" }');
      assert.equal((await call('GET', '/v1/acl/policy/name/kv-app', { token: management })).body.ID, id);
      const updated = await call('PUT', `/v1/acl/policy/${id}`, { token: management, body: { Name: 'kv-app', Rules: 'key_prefix "app/" { policy = "read" }' } });
      assert.equal(updated.status, 200, updated.text);
      assert.ok(updated.body.ModifyIndex > created.body.ModifyIndex);
      const list = await call('GET', '/v1/acl/policies', { token: management });
      assert.deepEqual(list.body.map((p: { Name: string }) => p.Name).sort(), ['global-management', 'kv-app']);
      assert.equal(list.body[0].Rules, undefined, 'the list holds stubs without rules');

      const invalid = await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'bad', Rules: 'service "web" { policy = "list" }' } });
      assert.equal(invalid.status, 400);
      assert.match(invalid.text, /service "web" policy: "list"/);
      const dup = await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'kv-app', Rules: '' } });
      assert.equal(dup.status, 400);
      assert.match(dup.text, /already exists/);
      assert.equal((await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'no spaces allowed' } })).status, 400);

      const gm = await call('PUT', `/v1/acl/policy/${GLOBAL_MANAGEMENT_POLICY_ID}`, { token: management, body: { Name: 'global-management', Rules: 'acl = "read"' } });
      assert.equal(gm.status, 400);
      assert.match(gm.text, /Changing the Rules for the builtin global-management policy is not permitted/);
      const gmDelete = await call('DELETE', `/v1/acl/policy/${GLOBAL_MANAGEMENT_POLICY_ID}`, { token: management });
      assert.equal(gmDelete.status, 400);

      const temp = await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'temp', Rules: 'node_prefix "" { policy = "read" }' } });
      assert.equal((await call('DELETE', `/v1/acl/policy/${temp.body.ID}`, { token: management })).body, true);
      assert.equal((await call('GET', `/v1/acl/policy/${temp.body.ID}`, { token: management })).status, 404);
      assert.equal((await call('DELETE', `/v1/acl/policy/${temp.body.ID}`, { token: management })).status, 404);
    });

    test('tokens: create, read (secret only for acl:write), update, clone, self, list filters, delete', async () => {
      const aclRead = await call('PUT', '/v1/acl/policy', { token: management, body: { Name: 'acl-read', Rules: 'acl = "read"' } });
      const reader = await call('PUT', '/v1/acl/token', { token: management, body: { Description: 'reader', Policies: [{ Name: 'acl-read' }] } });
      assert.equal(reader.status, 200, reader.text);
      assert.match(reader.body.SecretID, /^[0-9a-f-]{36}$/);

      const app = await call('PUT', '/v1/acl/token', {
        token: management,
        body: { Description: 'app', Policies: [{ Name: 'kv-app' }], ServiceIdentities: [{ ServiceName: 'web' }], NodeIdentities: [{ NodeName: 'node-1', Datacenter: 'dc1' }] },
      });
      assert.equal(app.status, 200, app.text);
      const accessor = app.body.AccessorID as string;

      const asWriter = await call('GET', `/v1/acl/token/${accessor}`, { token: management });
      assert.equal(asWriter.body.SecretID, app.body.SecretID, 'acl:write sees the secret');
      const asReader = await call('GET', `/v1/acl/token/${accessor}`, { token: reader.body.SecretID });
      assert.equal(asReader.status, 200);
      assert.equal(asReader.body.SecretID, '<hidden>', 'acl:read alone sees it hidden');
      assert.deepEqual(asReader.body.ServiceIdentities, [{ ServiceName: 'web' }]);
      const readerList = await call('GET', '/v1/acl/tokens', { token: reader.body.SecretID });
      assert.ok(readerList.body.every((t: { SecretID: string; AccessorID: string }) => t.SecretID === '<hidden>' || t.AccessorID === ANONYMOUS_TOKEN_ID));
      assert.equal((await call('PUT', '/v1/acl/token', { token: reader.body.SecretID, body: {} })).status, 403, 'creating needs acl:write');

      const updated = await call('PUT', `/v1/acl/token/${accessor}`, { token: management, body: { Description: 'app v2', Policies: [{ ID: aclRead.body.ID }] } });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.body.Description, 'app v2');
      assert.deepEqual(updated.body.Policies, [{ ID: aclRead.body.ID, Name: 'acl-read' }]);
      assert.equal(updated.body.SecretID, app.body.SecretID);
      const changeSecret = await call('PUT', `/v1/acl/token/${accessor}`, { token: management, body: { SecretID: randomUUID() } });
      assert.equal(changeSecret.status, 400);

      const clone = await call('PUT', `/v1/acl/token/${accessor}/clone`, { token: management, body: { Description: 'the clone' } });
      assert.equal(clone.status, 200, clone.text);
      assert.notEqual(clone.body.AccessorID, accessor);
      assert.notEqual(clone.body.SecretID, app.body.SecretID);
      assert.deepEqual(clone.body.Policies, updated.body.Policies);
      assert.equal(clone.body.Description, 'the clone');

      const self = await call('GET', '/v1/acl/token/self', { token: clone.body.SecretID });
      assert.equal(self.status, 200);
      assert.equal(self.body.AccessorID, clone.body.AccessorID);

      const byPolicy = await call('GET', `/v1/acl/tokens?policy=${aclRead.body.ID}`, { token: management });
      assert.deepEqual(byPolicy.body.map((t: { AccessorID: string }) => t.AccessorID).sort(), [reader.body.AccessorID, accessor, clone.body.AccessorID].sort());

      assert.equal((await call('DELETE', `/v1/acl/token/${clone.body.AccessorID}`, { token: management })).body, true);
      assert.equal((await call('GET', '/v1/acl/token/self', { token: clone.body.SecretID })).text, 'ACL not found');
      assert.equal((await call('GET', `/v1/acl/token/${clone.body.AccessorID}`, { token: management })).status, 404);
      assert.equal((await call('DELETE', `/v1/acl/token/${ANONYMOUS_TOKEN_ID}`, { token: management })).status, 400, 'the anonymous token stays');

      const given = randomUUID();
      const withIds = await call('PUT', '/v1/acl/token', { token: management, body: { AccessorID: randomUUID(), SecretID: given } });
      assert.equal(withIds.body.SecretID, given);
      assert.equal((await call('PUT', '/v1/acl/token', { token: management, body: { SecretID: given } })).status, 400, 'a SecretID in use');
      assert.equal((await call('PUT', '/v1/acl/token', { token: management, body: { Policies: [{ Name: 'nope' }] } })).status, 400);
    });

    test('roles: a token holding a role gets the role\'s policies', async () => {
      const role = await call('PUT', '/v1/acl/role', { token: management, body: { Name: 'auditor', Policies: [{ Name: 'acl-read' }], ServiceIdentities: [{ ServiceName: 'audit' }] } });
      assert.equal(role.status, 200, role.text);
      assert.equal((await call('GET', '/v1/acl/role/name/auditor', { token: management })).body.ID, role.body.ID);
      const holder = await call('PUT', '/v1/acl/token', { token: management, body: { Roles: [{ Name: 'auditor' }] } });
      assert.deepEqual(holder.body.Roles, [{ ID: role.body.ID, Name: 'auditor' }]);
      assert.equal((await call('GET', '/v1/acl/policies', { token: holder.body.SecretID })).status, 200, 'acl:read through the role');
      const byRole = await call('GET', `/v1/acl/tokens?role=${role.body.ID}`, { token: management });
      assert.deepEqual(byRole.body.map((t: { AccessorID: string }) => t.AccessorID), [holder.body.AccessorID]);
      assert.equal((await call('DELETE', `/v1/acl/role/${role.body.ID}`, { token: management })).body, true);
      assert.equal((await call('GET', '/v1/acl/policies', { token: holder.body.SecretID })).status, 403, 'the role is gone, and with it acl:read');
    });

    test('the anonymous token can be given policies, and then serves tokenless requests (Consul\'s usual DNS setup)', async () => {
      assert.equal((await call('GET', '/v1/acl/policies')).status, 403);
      const updated = await call('PUT', `/v1/acl/token/${ANONYMOUS_TOKEN_ID}`, { token: management, body: { Description: 'Anonymous Token', Policies: [{ Name: 'acl-read' }] } });
      assert.equal(updated.status, 200, updated.text);
      assert.equal((await call('GET', '/v1/acl/policies')).status, 200, 'the anonymous token now reads ACLs');
      await call('PUT', `/v1/acl/token/${ANONYMOUS_TOKEN_ID}`, { token: management, body: { Description: 'Anonymous Token', Policies: [] } });
      assert.equal((await call('GET', '/v1/acl/policies')).status, 403, 'and no longer once its policy is unlinked');
    });

    test('an expiring token resolves until its ExpirationTime, then stops and is reaped', async () => {
      const bad = await call('PUT', '/v1/acl/token', { token: management, body: { ExpirationTTL: '1s', ExpirationTime: new Date(Date.now() + 60_000).toISOString() } });
      assert.equal(bad.status, 400);
      const token = await call('PUT', '/v1/acl/token', { token: management, body: { Policies: [{ Name: 'acl-read' }], ExpirationTTL: '2s' } });
      assert.equal(token.status, 200, token.text);
      assert.ok(Date.parse(token.body.ExpirationTime) > Date.now());
      assert.equal((await call('GET', '/v1/acl/token/self', { token: token.body.SecretID })).status, 200);
      await waitFor(async () => (await call('GET', '/v1/acl/token/self', { token: token.body.SecretID })).status === 403, 'the token to expire');
      await waitFor(async () => {
        const list = await call('GET', '/v1/acl/tokens', { token: management });
        return !list.body.some((t: { AccessorID: string }) => t.AccessorID === token.body.AccessorID);
      }, 'the expired token to leave the list');
    });

    test('the npm consul client bootstraps through acl.bootstrap() and gets 403 afterwards', async () => {
      const consul = new Consul({ host: '127.0.0.1', port: Number(new URL(url).port), defaults: { token: management } });
      await assert.rejects(consul.acl.bootstrap(), (err: Error & { response?: { statusCode?: number } }) => {
        assert.equal(err.response?.statusCode, 403);
        assert.match(err.message, /ACL bootstrap no longer allowed/);
        return true;
      });
    });

    test('translate: legacy rules become prefix rules', async () => {
      const res = await call('POST', '/v1/acl/rules/translate', { token: management, raw: 'key "" {\n  policy = "read"\n}\n' });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'key_prefix "" {\n  policy = "read"\n}\n');
    });

    test('no SecretID appears in the store or in a log line', async () => {
      assert.ok(secrets.size >= 6, `saw ${secrets.size} secrets`);
      const log = logs.text();
      assert.ok(log.length > 0, 'the server logged something');
      let stored = '';
      if (backend === 'sqlite') {
        for (const file of filesUnder(dir.path)) stored += readFileSync(file).toString('latin1');
        assert.ok(stored.includes('acl-tokens'), 'the dump holds the token table');
      } else {
        const client = new Etcd3({ hosts: [etcd.url] });
        try {
          const all = await client.getAll().prefix(prefix).strings();
          stored = Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n');
        } finally {
          client.close();
        }
        assert.ok(stored.includes('acl-tokens'), 'the dump holds the token table');
      }
      // A snapshot (GET /v1/snapshot: gzip over JSON lines) is a store dump too.
      const snap = await fetch(`${url}/v1/snapshot`, { headers: { 'X-Consul-Token': management } });
      assert.equal(snap.status, 200);
      const archive = gunzipSync(Buffer.from(await snap.arrayBuffer())).toString('utf8');
      assert.ok(archive.includes('acl-tokens'), 'the snapshot holds the token table');
      stored += archive;
      for (const secret of secrets) {
        assert.ok(!stored.includes(secret), `the store holds a secret in clear: ${secret.slice(0, 8)}…`);
        assert.ok(!log.includes(secret), `a log line holds a secret: ${secret.slice(0, 8)}…`);
      }
    });
  });
}

describe('acl.tokens: initial_management and default', () => {
  test('the initial management token is created at start and counts as the bootstrap; requests without a token use the default token', async () => {
    const dir = tempDir('meshgate-acl-initial-');
    const initial = randomUUID();
    const start = (): Promise<RunningServer> => startServer({
      dev: false, dataDir: dir.path, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1',
      acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: initial, default: initial } },
    }, createLogger({ name: 't', level: 'silent' }));
    let server = await start();
    try {
      // No X-Consul-Token: the default token (here the management one) answers, as Consul's acl.tokens.default.
      const list = await fetch(`${server.url}/v1/acl/tokens`);
      assert.equal(list.status, 200);
      const tokens = (await list.json()) as Array<{ Description: string; Policies?: Array<{ ID: string }> }>;
      const mgmt = tokens.filter((t) => t.Description === 'Initial Management Token');
      assert.equal(mgmt.length, 1);
      assert.deepEqual(mgmt[0]!.Policies?.map((p) => p.ID), [GLOBAL_MANAGEMENT_POLICY_ID]);
      const boot = await fetch(`${server.url}/v1/acl/bootstrap`, { method: 'PUT' });
      assert.equal(boot.status, 403, 'bootstrap is used up by the initial management token');
      assert.match(await boot.text(), /ACL bootstrap no longer allowed/);

      await server.close();
      server = await start();
      const again = (await (await fetch(`${server.url}/v1/acl/tokens`, { headers: { 'X-Consul-Token': initial } })).json()) as Array<{ Description: string }>;
      assert.equal(again.filter((t) => t.Description === 'Initial Management Token').length, 1, 'a restart does not create it twice');
    } finally {
      await server.close();
      dir.remove();
    }
  });
});

