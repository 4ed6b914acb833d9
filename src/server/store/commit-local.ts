/**
 * The commit pipeline of a local backend (SQLite): this process decides the order, so the group's transactions run
 * one after the other against one staged view with consecutive indexes, the whole group is made durable in one
 * backend commit, and only then is it applied to the view and its writers answered.
 */
import { recordGroup, type CommitHost, type QueuedWrite } from './commit-pipeline.ts';
import { StagedView } from './staged-view.ts';
import { Transaction } from './transaction.ts';
import type { PreparedCommit, StoreBackend } from './types.ts';

export async function commitLocalGroup(host: CommitHost, backend: StoreBackend, batch: QueuedWrite[]): Promise<void> {
  const staged = new StagedView(host.view, host.tableIndexes);
  const prepared: PreparedCommit[] = [];
  const settled: Array<{ write: QueuedWrite; index: number; result: unknown }> = [];
  let nextIndex = host.lastIndex();
  for (const write of batch) {
    const tx = new Transaction(staged, nextIndex + 1, false);
    let result: unknown;
    try {
      result = write.run(tx);
    } catch (err) {
      tx.discard();
      write.reject(err);
      continue;
    }
    if (tx.mutations.length === 0) {
      settled.push({ write, index: nextIndex, result });
      continue;
    }
    nextIndex++;
    prepared.push({ index: nextIndex, mutations: tx.mutations });
    settled.push({ write, index: nextIndex, result });
  }
  if (prepared.length > 0) {
    try {
      await backend.commit(prepared);
    } catch (err) {
      for (const s of settled) s.write.reject(err);
      return;
    }
    for (const change of prepared) host.apply(change);
    recordGroup(host.stats, prepared.length);
  }
  for (const s of settled) s.write.resolve({ index: s.index === 0 ? host.lastIndex() : s.index, result: s.result });
  for (const change of prepared) host.publish(change);
}
