/**
 * /v1/connect/intentions and /v1/agent/connect/authorize (agent/intentions_endpoint.go, agent/agent_endpoint.go
 * AgentConnectAuthorize). Intentions are stored as service-intentions config entries (src/server/intentions); the
 * decisions come from src/lib/intentions, the same function the sidecar proxy calls. The default decision when no
 * intention matches comes from the authorizer (allow while ACLs are off, as Consul with acl.enabled = false).
 */
import { z } from 'zod';
import { Errors } from '../../lib/errors.ts';
import { authorizeConnection, matchIntentions, sortByPrecedence } from '../../lib/intentions/index.ts';
import { allowAll, type AuthorizerFor, type ConnectAuthorizer } from '../config-entries/authorizer.ts';
import { IntentionPermissionSchema } from '../config-entries/schemas.ts';
import { CONFIG_ENTRIES_TABLE } from '../config-entries/table.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import {
  IntentionErrors, createLegacy, deleteExact, deleteLegacy, getById, getExact, listIntentions, updateLegacy, upsertExact,
  type IntentionInput,
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

export function registerIntentionEndpoints(api: ApiRouter, deps: ServerDeps, authorizerFor: AuthorizerFor = allowAll): void {
  const { store } = deps;
  const watch = [{ table: CONFIG_ENTRIES_TABLE, prefix: 'service-intentions/' }];
  const index = (): number => store.tableIndex(CONFIG_ENTRIES_TABLE);
  const defaultDecision = (authz: ConnectAuthorizer) => ({ allow: authz.intentionDefaultAllow(), reason: 'Default behavior configured by ACLs' });

  api.get('/v1/connect/intentions', (ctx) =>
    blockingQuery(ctx, store, { watches: watch, run: () => ({ index: index(), body: sortByPrecedence(listIntentions(store)) }) }));

  api.post('/v1/connect/intentions', async (ctx) => {
    const input = await intentionBody(ctx);
    if (input.ID) throw Errors.badRequest('ID must be empty');
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
        const all = listIntentions(store);
        const body: Record<string, unknown[]> = {};
        for (const name of names) body[name] = matchIntentions(all, by, name);
        return { index: index(), body };
      },
    });
  });

  api.get('/v1/connect/intentions/check', (ctx) => {
    const { source, destination } = pair(ctx);
    const allowed = authorizeConnection(listIntentions(store), source, destination, defaultDecision(authorizerFor(ctx.token))).allowed;
    return { index: index(), body: { Allowed: allowed } };
  });

  api.get('/v1/connect/intentions/exact', (ctx) => {
    const { source, destination } = pair(ctx);
    return blockingQuery(ctx, store, {
      watches: watch,
      run: () => {
        const found = getExact(store, source, destination);
        return found ? { index: index(), body: found } : { index: index(), status: 404, body: 'Intention not found', text: true };
      },
    });
  });

  api.put('/v1/connect/intentions/exact', async (ctx) => {
    const { source, destination } = pair(ctx);
    const input = await intentionBody(ctx);
    if (!authorizerFor(ctx.token).canWriteEntry('service-intentions', destination)) throw Errors.permissionDenied();
    await store.write((tx) => upsertExact(tx, source, destination, input));
    return { body: true };
  });

  api.delete('/v1/connect/intentions/exact', async (ctx) => {
    const { source, destination } = pair(ctx);
    await store.write((tx) => deleteExact(tx, source, destination));
    return { body: true };
  });

  api.get('/v1/connect/intentions/:id', (ctx) => {
    const found = getById(store, ctx.params.id!);
    if (!found) throw IntentionErrors.notFound();
    return { index: index(), body: found };
  });

  api.put('/v1/connect/intentions/:id', async (ctx) => {
    const input = await intentionBody(ctx);
    const id = ctx.params.id!;
    await store.write((tx) => updateLegacy(tx, id, input, new Date().toISOString()));
    return { body: true };
  });

  api.delete('/v1/connect/intentions/:id', async (ctx) => {
    const id = ctx.params.id!;
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
    const decision = authorizeConnection(listIntentions(store), source, body.Target, defaultDecision(authorizerFor(ctx.token)));
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
