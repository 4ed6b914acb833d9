/**
 * GET /v1/snapshot streams an archive of the whole state store (`../snapshot/format.ts`) with `X-Consul-Index`
 * set to the index it was taken at; PUT /v1/snapshot restores one, replacing the whole state atomically, and
 * answers 200 with an empty body, as Consul's `agent/snapshot_endpoint.go` does. `?stale` is accepted: without it a
 * replica first catches up with the latest write any replica made (Consul forwards to the leader instead).
 * Both need a management token: Consul's snapshot endpoint asks SnapshotAllowed, which is `acl:write`.
 */
import type { ServerDeps } from '../deps.ts';
import type { ApiRouter } from '../http/router.ts';
import { decodeSnapshot, encodeSnapshot } from '../snapshot/format.ts';
import { requireSnapshot } from '../acl/enforce.ts';

export function registerSnapshotEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  api.get('/v1/snapshot', async (ctx) => {
    requireSnapshot(ctx.authorizer());
    const snapshot = ctx.query.has('stale') ? store.snapshot() : await store.consistentSnapshot();
    return { body: encodeSnapshot(snapshot, store.backendName), index: snapshot.index };
  });
  api.put('/v1/snapshot', async (ctx) => {
    requireSnapshot(ctx.authorizer());
    const { header, rows } = await decodeSnapshot(ctx.bodyStream());
    const index = await store.restore(rows, header.index);
    deps.logger.info({ rows: rows.length, snapshotIndex: header.index, index, from: header.backend }, 'snapshot restored');
    return { index };
  });
}
