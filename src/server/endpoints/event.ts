/**
 * /v1/event/fire/:name and /v1/event/list, as agent/event_endpoint.go serves them. Fire takes the raw body as the
 * payload and `?node=`, `?service=`, `?tag=` as filters, and answers the event. List answers this agent's received
 * events (oldest first, `?name=` filters) and blocks as EventList does: its index is a hash of the newest event's
 * ID, so `?index=N` waits until the index differs from N (or `wait` passes), not until it exceeds it.
 * Storage and filter rules: ../event/README.md.
 *
 * ACLs as agent/event_endpoint.go applies them: firing needs `event:write` on the name (403), the list keeps the
 * events whose name the token has `event:read` on, with X-Consul-Results-Filtered-By-ACLs.
 */
import { listNodeServices } from '../catalog/index.ts';
import type { ServerDeps } from '../deps.ts';
import { EVENTS_TABLE, eventIndex, fireEvent, receivedEvents, validateEvent, type EventReceiver, type EventRequest } from '../event/events.ts';
import { parseQueryOptions, watchRevocationWhileWaiting } from '../http/blocking.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';
import type { ApiRouter } from '../http/router.ts';
import { Errors } from '../../lib/errors.ts';

export function registerEventEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const node = deps.identity.nodeName;
  const receiver = (): EventReceiver => ({ node, services: listNodeServices(store, node).map((s) => s.value) });

  api.put('/v1/event/fire/*name', async (ctx) => {
    const name = ctx.params.name ?? '';
    if (name === '') throw Errors.badRequest('Missing name');
    requirePermission(ctx.authorizer(), 'event', 'write', name);
    const req: EventRequest = {
      name,
      payload: await ctx.body(),
      nodeFilter: ctx.query.get('node') ?? '',
      serviceFilter: ctx.query.get('service') ?? '',
      tagFilter: ctx.query.get('tag') ?? '',
    };
    validateEvent(req);
    const { result } = await store.write((tx) => fireEvent(tx, req));
    return { body: result };
  });

  api.get('/v1/event/list', async (ctx) => {
    const options = parseQueryOptions(ctx.query);
    const raw = ctx.query.get('index') ?? '';
    const name = ctx.query.get('name') ?? '';
    const read = () => {
      const authz = ctx.authorizer();
      const all = receivedEvents(store, receiver(), name);
      const { items: events, filtered } = filterByAcl(authz, all, (e) => authz.eventRead(e.Name));
      // The index follows what this token sees, so a hidden event neither wakes nor changes its answer.
      return { events, index: eventIndex(events), ...filteredMeta(filtered, ctx.token, authz) };
    };
    let result = read();
    if (options.minIndex > 0 && result.index === raw) {
      const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(options.waitMs)]);
      const revocation = watchRevocationWhileWaiting(ctx, deadline);
      let seen = store.index;
      try {
        while (!deadline.aborted && result.index === raw) {
          await store.waitForChange([{ table: EVENTS_TABLE }], seen, revocation.signal);
          if (revocation.revoked()) {
            result = read();
            break;
          }
          seen = store.index;
          result = read();
        }
      } finally {
        revocation.close();
      }
    }
    return { body: result.events, headers: { ...result.headers, 'X-Consul-Index': result.index } };
  });
}
