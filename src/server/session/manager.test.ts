/**
 * Session TTLs across replicas on one etcd: a renewal sent to a follower counts with the leader, which alone
 * expires sessions (Consul's renew resets the TTL wherever it lands, since followers forward it to the leader);
 * a session no replica renews still expires. TTLs are written below Consul's 10 s minimum straight into the store so
 * the test runs in seconds; the manager's timers do not care how the row got there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startEtcd, type EtcdProcess } from '../../../test/helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../../../test/helpers/exit-guard.ts';
import { silentLogger } from '../../lib/logger.ts';
import { SESSIONS_TABLE } from '../kv/entries.ts';
import { EtcdBackend } from '../store/etcd-backend.ts';
import { StateStore } from '../store/state-store.ts';
import { SessionManager, type StoredSession } from './manager.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('etcd: a renewal on a follower keeps the session alive on the leader; unrenewed, it expires', async () => {
  const prefix = `/meshgate-test/${randomUUID()}`;
  const open = () => StateStore.open(new EtcdBackend({ endpoints: [etcd.url], prefix, logger: silentLogger() }));
  const stores = [await open(), await open()];
  const managers = stores.map((s) => new SessionManager(s, silentLogger()));
  try {
    stores.forEach((s, i) => s.campaign(`replica-${i}`));
    const deadline = Date.now() + 20_000;
    while (!stores.some((s) => s.isLeader) && Date.now() < deadline) await sleep(20);
    const leaderAt = stores.findIndex((s) => s.isLeader);
    assert.ok(leaderAt >= 0, 'a leader');
    const follower = managers[1 - leaderAt]!;
    const leaderStore = stores[leaderAt]!;

    const ttlMs = 300;
    const session: StoredSession = {
      ID: randomUUID(), Name: 'short', Node: 'n1', LockDelayMs: 0, Behavior: 'release', TTL: '300ms', TtlMs: ttlMs,
      NodeChecks: [], ServiceChecks: [],
    };
    const { index } = await stores[1 - leaderAt]!.write((tx) => tx.put(SESSIONS_TABLE, session.ID, session));
    while (leaderStore.index < index) await sleep(10);

    // Renewed only through the follower, for five times the session's lifetime (TTL × 2).
    const renewedUntil = Date.now() + ttlMs * 2 * 5;
    while (Date.now() < renewedUntil) {
      await follower.renew(session.ID);
      await sleep(ttlMs / 3);
      assert.ok(leaderStore.get(SESSIONS_TABLE, session.ID), 'the leader did not expire a session renewed on a follower');
    }

    // No more renewals: the leader expires it.
    const expiredBy = Date.now() + 10_000;
    while (leaderStore.get(SESSIONS_TABLE, session.ID) && Date.now() < expiredBy) await sleep(20);
    assert.equal(leaderStore.get(SESSIONS_TABLE, session.ID), undefined, 'an unrenewed session expires');
  } finally {
    await Promise.all(managers.map((m) => m.close()));
    await Promise.all(stores.map((s) => s.close()));
  }
});
