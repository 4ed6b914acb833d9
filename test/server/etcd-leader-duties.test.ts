/**
 * Leader-only duties across real server processes on one etcd: the health checks of an external node (which the
 * server runs itself, as consul-esm would) run on exactly one replica, and move to another when that one is killed.
 *
 * How "exactly one" is seen without timing: the check's HTTP target never answers, and the check runner starts a
 * run only after the previous one ended (lib/checks runner), so every replica running the check holds exactly one
 * request open at the target. The target maps each open request to the process that made it (Linux /proc: the
 * socket's inode among the process's file descriptors).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { eventually, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

/** The pid among `pids` holding the TCP socket whose local port is `port` on 127.0.0.1. */
function ownerOf(port: number, pids: number[]): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === `0100007F:${hex}`) inode = cols[9];
  }
  if (!inode) return undefined;
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process is gone
    }
  }
  return undefined;
}

test('external checks run on exactly one replica (the leader) and move to another when it is killed', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const open = new Set<IncomingMessage>();
  const target: Server = createServer((req) => {
    // Never answered: the run stays in flight for its Timeout, so each running replica holds one request here.
    open.add(req);
    req.socket.once('close', () => open.delete(req));
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const targetPort = (target.address() as AddressInfo).port;

  const prefix = `/meshgate-test/${randomUUID()}`;
  const dirs = [tempDir(), tempDir(), tempDir()];
  const replicas: ServerProcess[] = [];
  const alive = new Set<ServerProcess>();
  const holders = (): number[] => [...open].map((req) => ownerOf(req.socket.remotePort!, [...alive].map((r) => r.child.pid!))).filter((p) => p !== undefined);
  try {
    for (const [i, d] of dirs.entries()) {
      const r = await spawnServer(d.path, undefined, ['--store', 'etcd', '--etcd-endpoints', etcd.url, '--etcd-prefix', prefix, '--node-name', `server-${i}`]);
      replicas.push(r);
      alive.add(r);
    }
    const res = await fetch(`${replicas[0]!.url}/v1/catalog/register`, {
      method: 'PUT',
      body: JSON.stringify({
        Node: 'ext-db', Address: '127.0.0.1', NodeMeta: { 'external-node': 'true' },
        Service: { ID: 'db', Service: 'db', Port: targetPort },
        Check: { CheckID: 'db-http', Name: 'db http', ServiceID: 'db', Definition: { HTTP: `http://127.0.0.1:${targetPort}/health`, Interval: '200ms', Timeout: '5m' } },
      }),
    });
    assert.equal(res.status, 200, await res.text());

    await eventually(() => open.size === 1, 'one replica to run the check');
    // Every replica has seen the registration by now; a follower running it would have opened its request within
    // one interval (200 ms) — give it ten.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(open.size, 1, 'exactly one replica runs the check');
    const [leaderPid] = holders();
    assert.ok(leaderPid, 'the open request belongs to one of the replicas');
    const leader = replicas.find((r) => r.child.pid === leaderPid)!;

    await leader.kill9();
    alive.delete(leader);
    // The dead leader's election lease (10 s) expires; another replica wins and starts the check.
    await eventually(() => open.size === 1 && holders().length === 1, 'another replica to take the check over', 40_000);
    const [nextPid] = holders();
    assert.notEqual(nextPid, leaderPid);
    assert.ok([...alive].some((r) => r.child.pid === nextPid));
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(open.size, 1, 'still exactly one after the takeover');
  } finally {
    for (const req of open) req.socket.destroy();
    await Promise.all([...alive].map((r) => r.stop()));
    await new Promise<void>((r) => target.close(() => r()));
    for (const d of dirs) d.remove();
  }
});
