/**
 * The commit pipeline of a replicated backend (etcd): the backend, not this process, orders writes and assigns
 * indexes, and changes reach the view only through its follower.
 */
import { recordGroup, MAX_WRITE_ATTEMPTS, type CommitHost, type QueuedWrite } from './commit-pipeline.ts';
import { ErrStoreConflict } from './errors.ts';
import { StagedView } from './staged-view.ts';
import { Transaction } from './transaction.ts';
import type { ReadSet, ReplicatedBackend } from './types.ts';

/**
 * A group against a replicated backend: every transaction runs against one staged view with provisional indexes
 * (above any real one), then they are committed in order, each as one CAS transaction whose reads of earlier
 * staged rows are mapped to the revisions those committed at. When one is refused, it and everything after it
 * in the batch — whose results may rest on it — go back to the head of the queue and run again once the view
 * holds the change that refused it. Writers are answered only after the view has applied their revision.
 */
export async function commitReplicatedGroup(host: CommitHost, backend: ReplicatedBackend, batch: QueuedWrite[]): Promise<void> {
  const base = host.lastIndex();
  const staged = new StagedView(host.view, host.tableIndexes);
  type Outcome = { write: QueuedWrite; tx?: Transaction; result?: unknown; error?: unknown; index?: number };
  const outcomes: Outcome[] = [];
  let provisional = base;
  for (const write of batch) {
    const tx = new Transaction(staged, provisional + 1, true);
    try {
      const result = write.run(tx);
      if (tx.mutations.length === 0) {
        outcomes.push({ write, result });
        continue;
      }
      provisional++;
      staged.wroteTables(tx.mutations, provisional);
      outcomes.push({ write, tx, result });
    } catch (err) {
      tx.discard();
      outcomes.push({ write, error: err });
    }
  }

  const real = new Map<number, number>(); // provisional index → revision committed at
  const toReal = (seen: number): number => (seen > base ? real.get(seen)! : seen);
  let settle = outcomes.length;
  let highest = 0;
  let failure: unknown;
  let retryAfter = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    if (!o.tx) continue;
    const reads = o.tx.readSet();
    const mapped: ReadSet = {
      keys: new Map([...reads.keys].map(([k, v]) => [k, toReal(v)])),
      tables: new Map([...reads.tables].map(([t, v]) => [t, toReal(v)])),
      scanned: reads.scanned,
    };
    try {
      const r = await backend.commitOne({ reads: mapped, mutations: o.tx.mutations });
      if (r.committed) {
        real.set(o.tx.index, r.index);
        o.index = r.index;
        highest = r.index;
        continue;
      }
      retryAfter = r.index;
    } catch (err) {
      failure = err;
    }
    settle = i;
    break;
  }
  // Everything after a refused or failed commit may rest on it: run again (refused) or fail with it.
  const rest = outcomes.slice(settle);
  if (failure !== undefined) for (const o of rest) o.write.reject(failure);
  else if (rest.length > 0) {
    host.stats.conflicts++;
    const again: QueuedWrite[] = [];
    for (const o of rest) {
      const attempts = (o.write.attempts ?? 0) + 1;
      if (attempts >= MAX_WRITE_ATTEMPTS) o.write.reject(ErrStoreConflict(attempts));
      else again.push({ ...o.write, attempts });
    }
    host.requeue(again);
  }
  try {
    await host.caughtUp(Math.max(highest, retryAfter));
  } catch (err) {
    for (const o of outcomes.slice(0, settle)) o.write.reject(err);
    return;
  }
  let committed = 0;
  for (const o of outcomes.slice(0, settle)) {
    if (o.error !== undefined) o.write.reject(o.error);
    else o.write.resolve({ index: o.index ?? host.lastIndex(), result: o.result });
    if (o.index !== undefined) committed++;
  }
  if (committed > 0) recordGroup(host.stats, committed);
}
