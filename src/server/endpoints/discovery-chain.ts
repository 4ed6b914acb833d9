/**
 * /v1/discovery-chain/:service — the compiled discovery chain (agent/discovery_chain_endpoint.go): GET, or POST with
 * `OverrideConnectTimeout`, `OverrideProtocol` and `OverrideMeshGateway` in the body; `?compile-dc=` names the
 * datacenter to compile in. The answer is `{ "Chain": CompiledDiscoveryChain }`, a blocking query over the config
 * entries. The trust domain in the targets' SNI is the Connect CA's (`<cluster-id>.consul`), given by the caller;
 * before the CA has a configuration it is a fixed placeholder domain. ACLs: `service:read` on the service
 * (DiscoveryChain.Get), checked on every wake of the blocking query.
 */
import { z } from 'zod';
import { parseDuration } from '../../lib/duration.ts';
import { Errors } from '../../lib/errors.ts';
import { compileDiscoveryChain } from '../config-entries/discovery-chain.ts';
import { CONFIG_ENTRIES_TABLE, getEntry } from '../config-entries/table.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import { requirePermission } from '../acl/enforce.ts';

export const PLACEHOLDER_TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul';

const Overrides = z.object({
  OverrideConnectTimeout: z.union([z.string(), z.number()]).optional(),
  OverrideProtocol: z.string().optional(),
  OverrideMeshGateway: z.object({ Mode: z.string().optional() }).optional(),
});

export function registerDiscoveryChainEndpoints(api: ApiRouter, deps: ServerDeps, trustDomain: () => string = () => PLACEHOLDER_TRUST_DOMAIN): void {
  const { store } = deps;
  const handler = async (ctx: RequestContext) => {
    const service = ctx.params.service!;
    requirePermission(ctx.authorizer(), 'service', 'read', service);
    let overrides: z.output<typeof Overrides> = {};
    if (ctx.method === 'POST') {
      const raw = await ctx.json();
      if (raw !== undefined) overrides = decodeBody(Overrides, raw);
    }
    let timeoutMs: number | undefined;
    const t = overrides.OverrideConnectTimeout;
    if (typeof t === 'number') timeoutMs = t / 1e6;
    else if (typeof t === 'string' && t !== '') {
      try {
        timeoutMs = parseDuration(t);
      } catch {
        throw Errors.badRequest(`Request decode failed: OverrideConnectTimeout: time: invalid duration ${JSON.stringify(t)}`);
      }
    }
    const datacenter = ctx.query.get('compile-dc') || deps.identity.datacenter;
    return blockingQuery(ctx, store, {
      watches: [{ table: CONFIG_ENTRIES_TABLE }],
      run: () => {
        requirePermission(ctx.authorizer(), 'service', 'read', service);
        return {
          index: store.tableIndex(CONFIG_ENTRIES_TABLE),
          body: {
            Chain: compileDiscoveryChain({
              serviceName: service,
              datacenter,
              trustDomain: trustDomain(),
              entries: (kind, name) => getEntry(store, kind, name)?.value,
              overrideProtocol: overrides.OverrideProtocol?.toLowerCase(),
              overrideConnectTimeoutMs: timeoutMs,
              overrideMeshGatewayMode: overrides.OverrideMeshGateway?.Mode,
            }),
          },
        };
      },
    });
  };
  api.get('/v1/discovery-chain/:service', handler);
  api.post('/v1/discovery-chain/:service', handler);
}
