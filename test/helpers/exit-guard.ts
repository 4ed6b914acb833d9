/**
 * For test files that run real etcd-backed servers: now and then such a file leaves a timer or handle behind after
 * every test has passed and its etcd has stopped (seen in operator.test.ts and acl-login.test.ts: no socket, no
 * child, a process that never exits — an etcd3 client's retry or lease timer that a closed replica did not release;
 * the exact one is not found yet), and node:test then waits for that file forever. Called at a file's top level,
 * this ends the file's process 10 s after all its tests are done and reported, if it is still alive. The timer is
 * unref'd: it never keeps a process alive, and a file that exits normally never reaches it. (The suite-wide
 * --test-force-exit cut results short instead; see package.json's history.)
 *
 * So that the next time it fires says what held the process, the guard remembers where every timer of the file was
 * created (an async_hooks init hook, test files only) and, before ending the process, prints the creation stacks of
 * the timers that are still referenced to stderr.
 */
import { createHook } from 'node:async_hooks';
import { writeSync } from 'node:fs';
import { after } from 'node:test';

interface TrackedTimer {
  stack: string;
  resource: { hasRef?: () => boolean; _destroyed?: boolean; _idleTimeout?: number };
}

export function endLingeringProcessAfterSuite(graceMs = 10_000): void {
  const timers = new Map<number, TrackedTimer>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout' && type !== 'Immediate') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 24;
      const stack = new Error().stack?.split('\n').slice(5).join('\n') ?? '';
      Error.stackTraceLimit = limit;
      timers.set(id, { stack, resource: resource as TrackedTimer['resource'] });
    },
    destroy(id) {
      timers.delete(id);
    },
  }).enable();
  after(() => {
    setTimeout(() => {
      hook.disable();
      const held = [...timers.values()].filter(({ resource }) => resource.hasRef?.() !== false && resource._destroyed !== true);
      writeSync(2, `\nexit-guard: the process was still alive ${graceMs} ms after its tests; ${held.length} referenced timer(s), created at:\n`);
      for (const { stack, resource } of held) writeSync(2, `--- every ${resource._idleTimeout ?? '?'} ms\n${stack}\n`);
      process.exit(process.exitCode ?? 0);
    }, graceMs).unref();
  });
}
