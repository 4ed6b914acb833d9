/**
 * Token expiry and revocation below the HTTP layer, on SQLite and etcd: the resolver's `watchRevocation` (the
 * AclResolver contract in src/server/acl/authorizer.ts) fires within a second of a delete and of an expiry — what a
 * blocking query waiting with that token needs to end with 403 — and never before `watchRevocation` returns; the
 * leader's reaper removes expired tokens (Consul's ACL token reaping), in transactions small enough for etcd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { ANONYMOUS_TOKEN_ID } from '../../src/server/acl/authorizer.ts';
import { AclSystem } from '../../src/server/acl/system.ts';
import { openStore, type StateStore } from '../../src/server/store/index.ts';
import { startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { tempDir } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

describe('the resolver\'s revocation watch', () => {
  for (const backend of ['sqlite', 'etcd'] as const) {
    test(`${backend}: fires within a second of a delete and of an expiry`, async () => {
      const dir = tempDir('meshgate-acl-revoke-');
      const store: StateStore = backend === 'etcd'
        ? await openStore({ backend: 'etcd', endpoints: [etcd.url], prefix: `/meshgate-acl-${randomUUID()}` })
        : await openStore({ backend: 'sqlite', dataDir: dir.path });
      const acl = await AclSystem.start({
        store, datacenter: 'dc1', dataDir: dir.path, logger: createLogger({ name: 't', level: 'silent' }),
        acl: { enabled: true, defaultPolicy: 'deny' }, tokenLimits: { minExpirationTtlMs: 500 },
      });
      try {
        const policy = await acl.tokens.createToken({ Description: 'x' });
        assert.equal(acl.resolver.resolve(policy.secretId).accessorId, policy.accessorId);
        assert.equal(acl.resolver.resolve(policy.secretId).keyRead('a'), false, 'default deny with no policy');
        assert.equal(acl.resolver.resolve(undefined).accessorId, ANONYMOUS_TOKEN_ID);

        let deletedAt = 0;
        const revoked = new Promise<number>((resolve) => acl.resolver.watchRevocation(policy.secretId, () => resolve(Date.now())));
        deletedAt = Date.now();
        await acl.tokens.deleteToken(policy.accessorId);
        const firedAt = await revoked;
        assert.ok(firedAt - deletedAt < 1_000, `fired ${firedAt - deletedAt} ms after the delete`);
        assert.throws(() => acl.resolver.resolve(policy.secretId), /ACL not found/);

        const expiring = await acl.tokens.createToken({ ExpirationTTL: '1s' });
        const expiresAt = Date.parse(expiring.token.ExpirationTime as string);
        const expired = new Promise<number>((resolve) => acl.resolver.watchRevocation(expiring.secretId, () => resolve(Date.now())));
        const at = await expired;
        assert.ok(at >= expiresAt, 'not before the expiry');
        assert.ok(at - expiresAt < 1_000, `fired ${at - expiresAt} ms after the expiry`);
        assert.throws(() => acl.resolver.resolve(expiring.secretId), /ACL not found/);
        let syncFired = false;
        const gone = new Promise<void>((resolve) => {
          acl.resolver.watchRevocation(policy.secretId, () => {
            syncFired = true;
            resolve();
          });
        });
        assert.equal(syncFired, false, 'a watch on a token already gone fires, but not before watchRevocation returns');
        await gone;
        let unsubscribedFired = false;
        const other = await acl.tokens.createToken({});
        const stop = acl.resolver.watchRevocation(other.secretId, () => (unsubscribedFired = true));
        stop();
        await acl.tokens.deleteToken(other.accessorId);
        assert.equal(unsubscribedFired, false, 'an unsubscribed watch stays quiet');
      } finally {
        acl.close();
        await store.close();
        dir.remove();
      }
    });
  }
});

describe('the reaper', () => {
  test('etcd: more expired tokens than etcd takes in one transaction are all reaped', async () => {
    const dir = tempDir('meshgate-acl-reap-');
    const store = await openStore({ backend: 'etcd', endpoints: [etcd.url], prefix: `/meshgate-acl-${randomUUID()}` });
    store.campaign('reaper-test');
    const acl = await AclSystem.start({
      store, datacenter: 'dc1', dataDir: dir.path, logger: createLogger({ name: 't', level: 'silent' }),
      acl: { enabled: true, defaultPolicy: 'deny' }, tokenLimits: { minExpirationTtlMs: 500 },
    });
    try {
      await waitFor(() => store.isLeader, 'leadership');
      // 150 > etcd's default --max-txn-ops of 128.
      // One expiry for all, so they are due together rather than a few at a time.
      const ExpirationTime = new Date(Date.now() + 15_000).toISOString();
      for (let i = 0; i < 150; i += 10) {
        await Promise.all(Array.from({ length: 10 }, () => acl.tokens.createToken({ ExpirationTime })));
      }
      assert.equal(store.count('acl-tokens'), 151, '150 and the anonymous token');
      await waitFor(() => store.count('acl-tokens') === 1, 'every expired token to be reaped', { deadlineMs: 30_000 });
    } finally {
      acl.close();
      await store.close();
      dir.remove();
    }
  });
});
