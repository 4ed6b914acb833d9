/**
 * For test files that run real etcd-backed servers: now and then such a file leaves a timer or handle behind after
 * every test has passed and its etcd has stopped (seen in operator.test.ts and acl-login.test.ts: no socket, no
 * child, a process that never exits — an etcd3 client's retry or lease timer that a closed replica did not release;
 * the exact one is not found yet), and node:test then waits for that file forever. Called at a file's top level,
 * this ends the file's process 10 s after all its tests are done and reported, if it is still alive. The timer is
 * unref'd: it never keeps a process alive, and a file that exits normally never reaches it. (The suite-wide
 * --test-force-exit cut results short instead; see package.json's history.)
 */
import { after } from 'node:test';

export function endLingeringProcessAfterSuite(graceMs = 10_000): void {
  after(() => {
    setTimeout(() => process.exit(process.exitCode ?? 0), graceMs).unref();
  });
}
