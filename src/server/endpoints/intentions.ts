/**
 * /v1/connect/intentions and /v1/agent/connect/authorize (agent/intentions_endpoint.go, agent/agent_endpoint.go
 * AgentConnectAuthorize). Intentions are stored as service-intentions config entries (src/server/intentions); the
 * decisions come from src/lib/intentions, the same function the sidecar proxy calls. The default decision when no
 * intention matches comes from the authorizer (allow while ACLs are off, as Consul with acl.enabled = false).
 *
 * ACLs as agent/consul/intention_endpoint.go applies them: an intention is readable with `intentions:read` on its
 * source or its destination (Intention.CanRead; lists keep those, one by ID or exact pair is a 403 otherwise) and
 * written with `intentions:write` on its destination (for an update or delete, the stored one's too); `match` needs
 * `intentions:read` on every name asked; `check` needs `service:read` on the destination and
 * /v1/agent/connect/authorize `service:write` on the target (AgentConnectAuthorize).
 */
import { z } from 'zod';
import { Errors } from '../../lib/errors.ts';
import { authorizeConnection, matchIntentions, sortByPrecedence } from '../../lib/intentions/index.ts';
import type { Authorizer } from '../acl/authorizer.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';
import { IntentionPermissionSchema } from '../config-entries/schemas.ts';
import { CONFIG_ENTRIES_TABLE } from '../config-entries/table.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import {
  IntentionErrors, createLegacy, deleteExact, deleteLegacy, getById, getExact, listIntentions, updateLegacy, upsertExact,
  type IntentionInput, type WireIntention,
} from '../intentions/intentions.ts';

const IntentionBody = z.object({
  ID: z.string().optional(),
  Description: z.string().optional(),
  SourceNS: z.string().optional(),
  SourceName: z.string().optional(),
  DestinationNS: z.string().optional(),
  DestinationName: z.string().optional(),
  SourceType: z.string().optional(),
  Action: z.string().optional(),
  Permissions: z.array(IntentionPermissionSchema).optional(),
  Meta: z.record(z.string(), z.string()).optional(),
});

const AuthorizeBody = z.object({ Target: z.string().optional(), ClientCertURI: z.string().optional(), ClientCertSerial: z.string().optional() });

/** spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service> (connect.SpiffeIDService; `ap/<partition>/` optional). */
const SPIFFE_SERVICE = /^spiffe:\/\/[^/]+(?:\/ap\/[^/]+)?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;

/** Consul's Intention.CanRead: `intentions:read` on either end. */
function canRead(authz: Authorizer, ixn: Pick<WireIntention, 'SourceName' | 'DestinationName'>): boolean {
  return (ixn.SourceName !== '' && authz.intentionRead(ixn.SourceName)) || (ixn.DestinationName !== '' && authz.intentionRead(ixn.DestinationName));
}

function requireRead(authz: Authorizer, ixn: WireIntention): void {
  if (!canRead(authz, ixn)) requirePermission(authz, 'intention', 'read', ixn.DestinationName);
}

export function registerIntentionEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const watch = [{ table: CONFIG_ENTRIES_TABLE, prefix: 'service-intentions/' }];
  const index = (): number => store.tableIndex(CONFIG_ENTRIES_TABLE);
  const defaultDecision = (authz: Authorizer) => ({ allow: authz.intentionDefaultAllow(), reason: 'Default behavior configured by ACLs' });

  api.get('/v1/connect/intentions', (ctx) =>
    blockingQuery(ctx, store, {
      watches: watch,
      run: () => {
        const authz = ctx.authorizer();
        const readable = filterByAcl(authz, listIntentions(store), (ixn) => canRead(authz, ixn));
        return { index: index(), body: sortByPrecedence(readable.items), ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    }));

  api.post('/v1/connect/intentions', async (ctx) => {
    const input = await intentionBody(ctx);
    if (input.ID) throw Errors.badRequest('ID must be empty');
    requirePermission(ctx.authorizer(), 'intention', 'write', input.DestinationName ?? '');
    const { result } = await store.write((tx) => createLegacy(tx, input, new Date().toISOString()));
    return { body: { ID: result } };
  });

  api.get('/v1/connect/intentions/match', (ctx) => {
    const by = ctx.query.get('by') ?? '';
    if (by === '') throw Errors.badRequest('required query parameter \'by\' not set');
    if (by !== 'source' && by !== 'destination') throw Errors.badRequest(`'by' parameter must be one of 'source' or 'destination'`);
    const names = ctx.query.getAll('name');
    if (names.length === 0) throw Errors.badRequest('required query parameter \'name\' not set');
    return blockingQuery(ctx, store, {
      watches: watch,
      run: () => {
        const authz = ctx.authorizer();
        for (const name of names) requirePermission(authz, 'intention', 'read', name);
        const all = listIntentions(store);
        const body: Record<string, unknown[]> = {};
        for (const name of names) body[name] = matchIntentions(all, by, name);
        return { index: index(), body };
      },
    });
  });

  api.get('/v1/connect/intentions/check', (ctx) => {
    const { source, destination } = pair(ctx);
    const authz = ctx.authorizer();
    requirePermission(authz, 'service', 'read', destination);
    const allowed = authorizeConnection(listIntentions(store), source, destination, defaultDecision(authz)).allowed;
    return { index: index(), body: { Allowed: allowed } };
  });

  api.get('/v1/connect/intentions/exact', (ctx) => {
    const { source, destination } = pair(ctx);
    return blockingQuery(ctx, store, {
      watches: watch,
      run: () => {
        const found = getExact(store, source, destination);
        if (found) requireRead(ctx.authorizer(), found);
        else requirePermission(ctx.authorizer(), 'intention', 'read', destination);
        return found ? { index: index(), body: found } : { index: index(), status: 404, body: 'Intention not found', text: true };
      },
    });
  });

  api.put('/v1/connect/intentions/exact', async (ctx) => {
    const { source, destination } = pair(ctx);
    const input = await intentionBody(ctx);
    requirePermission(ctx.authorizer(), 'intention', 'write', destination);
    await store.write((tx) => upsertExact(tx, source, destination, input));
    return { body: true };
  });

  api.delete('/v1/connect/intentions/exact', async (ctx) => {
    const { source, destination } = pair(ctx);
    requirePermission(ctx.authorizer(), 'intention', 'write', destination);
    await store.write((tx) => deleteExact(tx, source, destination));
    return { body: true };
  });

  api.get('/v1/connect/intentions/:id', (ctx) => {
    const found = getById(store, ctx.params.id!);
    if (!found) throw IntentionErrors.notFound();
    requireRead(ctx.authorizer(), found);
    return { index: index(), body: found };
  });

  api.put('/v1/connect/intentions/:id', async (ctx) => {
    const input = await intentionBody(ctx);
    const id = ctx.params.id!;
    const authz = ctx.authorizer();
    const existing = getById(store, id);
    if (existing) requirePermission(authz, 'intention', 'write', existing.DestinationName);
    requirePermission(authz, 'intention', 'write', input.DestinationName ?? existing?.DestinationName ?? '');
    await store.write((tx) => updateLegacy(tx, id, input, new Date().toISOString()));
    return { body: true };
  });

  api.delete('/v1/connect/intentions/:id', async (ctx) => {
    const id = ctx.params.id!;
    const existing = getById(store, id);
    if (existing) requirePermission(ctx.authorizer(), 'intention', 'write', existing.DestinationName);
    await store.write((tx) => deleteLegacy(tx, id));
    return { body: true };
  });

  api.post('/v1/agent/connect/authorize', async (ctx) => {
    const body = decodeBody(AuthorizeBody, await ctx.json());
    if (!body.Target) throw Errors.badRequest('Target service must be specified');
    if (!body.ClientCertURI) throw Errors.badRequest('ClientCertURI must be specified');
    const m = SPIFFE_SERVICE.exec(body.ClientCertURI);
    if (!m) throw Errors.badRequest('ClientCertURI not a valid Connect identifier');
    const source = decodeURIComponent(m[3]!);
    const authz = ctx.authorizer();
    requirePermission(authz, 'service', 'write', body.Target);
    const decision = authorizeConnection(listIntentions(store), source, body.Target, defaultDecision(authz));
    return { body: { Authorized: decision.allowed, Reason: decision.reason } };
  });
}

function pair(ctx: RequestContext): { source: string; destination: string } {
  const source = ctx.query.get('source') ?? '';
  const destination = ctx.query.get('destination') ?? '';
  if (source === '') throw Errors.badRequest('required query parameter \'source\' not set');
  if (destination === '') throw Errors.badRequest('required query parameter \'destination\' not set');
  return { source, destination };
}

async function intentionBody(ctx: RequestContext): Promise<IntentionInput & { ID?: string | undefined }> {
  const body = decodeBody(IntentionBody, await ctx.json());
  return body as IntentionInput & { ID?: string | undefined };
}
