/**
 * The Connect CA's HTTP API (agent/connect_ca_endpoint.go, agent/agent_endpoint.go): `GET /v1/connect/ca/roots` and
 * `/v1/agent/connect/ca/roots` (blocking; `?pem=true` answers the PEM chain as Consul 1.11+ does),
 * `GET|PUT /v1/connect/ca/configuration`, and `GET /v1/agent/connect/ca/leaf/:service` (blocking on the leaf itself:
 * a renewal or a root rotation wakes it with the new certificate). Private keys of roots never leave the server.
 *
 * ACLs as Consul applies them: the roots are public (ConnectCA.Roots takes no permission), the configuration needs
 * `operator:read` to read and `operator:write` to change (ConnectCA.ConfigurationGet/Set), and a leaf needs
 * `service:write` on its service (AgentConnectCALeafCert), checked again on every wake of its blocking query.
 */
import { ConnectCa, CA_TABLE, LEAF_TABLE, leafKey, rootToWire, type CaConfigRow, type LeafRow, type RootRow } from '../connect-ca/manager.ts';
import { trustDomainForCluster } from '../../lib/spiffe.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import type { ApiResponse, ApiRouter, RequestContext } from '../http/router.ts';
import { requirePermission } from '../acl/enforce.ts';

export async function registerConnectCaEndpoints(api: ApiRouter, deps: ServerDeps): Promise<ConnectCa> {
  const { store } = deps;
  const ca = new ConnectCa(store, deps.identity.datacenter, deps.logger.child({ part: 'connect-ca' }), deps.connectCa ?? {});
  await ca.start();
  deps.onClose(() => ca.close());

  const roots = (ctx: RequestContext): Promise<ApiResponse> => blockingQuery(ctx, store, {
    watches: [{ table: CA_TABLE, prefix: 'root/' }],
    run: () => {
      const rows = store.list<RootRow>(CA_TABLE, 'root/');
      const index = store.tableIndex(CA_TABLE);
      if (ctx.query.get('pem') === 'true') {
        // The active root first, then the others, each followed by its intermediates (Consul's PEM form).
        const ordered = [...rows].sort((a, b) => Number(b.value.Active) - Number(a.value.Active));
        return { index, text: true, headers: { 'Content-Type': 'application/pem-certificate-chain' },
          body: ordered.flatMap((r) => [r.value.RootCert, ...r.value.IntermediateCerts]).map((pem) => pem.trimEnd()).join('\n') + '\n' };
      }
      const config = store.get<CaConfigRow>(CA_TABLE, 'config')?.value;
      return {
        index,
        body: {
          ActiveRootID: rows.find((r) => r.value.Active)?.value.ID ?? '',
          TrustDomain: config ? trustDomainForCluster(config.ClusterID) : '',
          Roots: rows.map((r) => rootToWire(r.value, r.createIndex, r.modifyIndex)),
        },
      };
    },
  });
  api.get('/v1/connect/ca/roots', roots);
  api.get('/v1/agent/connect/ca/roots', roots);

  api.get('/v1/connect/ca/configuration', (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'read');
    const row = store.get<CaConfigRow>(CA_TABLE, 'config');
    if (!row) return { status: 503, body: 'Connect CA is not initialized yet', text: true };
    const { ClusterID, ...rest } = row.value;
    return { index: row.modifyIndex, body: { ...rest, ClusterID, State: null, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex } };
  });

  api.put('/v1/connect/ca/configuration', async (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'write');
    await ca.setConfiguration(await ctx.json());
    return { body: undefined };
  });

  api.get('/v1/agent/connect/ca/leaf/:service', async (ctx) => {
    const service = ctx.params.service!;
    requirePermission(ctx.authorizer(), 'service', 'write', service);
    await ca.ensureLeaf('service', service);
    return blockingQuery(ctx, store, {
      watches: [{ table: LEAF_TABLE, key: leafKey('service', service) }],
      run: () => {
        requirePermission(ctx.authorizer(), 'service', 'write', service);
        const row = store.get<LeafRow>(LEAF_TABLE, leafKey('service', service));
        // Gone only if a snapshot restore removed it; the next request issues a new one.
        if (!row) return { index: store.tableIndex(LEAF_TABLE), status: 404, body: `no leaf certificate for ${service}`, text: true };
        const leaf = row.value;
        return {
          index: row.modifyIndex,
          body: {
            SerialNumber: leaf.SerialNumber, CertPEM: leaf.CertPEM, PrivateKeyPEM: leaf.PrivateKeyPEM, Service: service, ServiceURI: leaf.URI,
            ValidAfter: leaf.ValidAfter, ValidBefore: leaf.ValidBefore, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex,
          },
        };
      },
    });
  });

  return ca;
}
