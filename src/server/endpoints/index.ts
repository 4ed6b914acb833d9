/** Every endpoint family of the HTTP API, registered in one place. */
import type { ApiRouter } from '../http/router.ts';
import type { ServerDeps } from '../deps.ts';
import { registerAclEndpoints } from './acl.ts';
import { registerAclAuthEndpoints } from './acl-auth.ts';
import { registerAgentEndpoints } from './agent.ts';
import { registerAgentLifecycleEndpoints } from './agent-lifecycle.ts';
import { registerAgentMonitorEndpoint } from './agent-monitor.ts';
import { registerCatalogEndpoints } from './catalog.ts';
import { registerConfigEndpoints } from './config.ts';
import { registerConnectEndpoints } from './connect.ts';
import { registerConnectCaEndpoints } from './connect-ca.ts';
import { PLACEHOLDER_TRUST_DOMAIN, registerDiscoveryChainEndpoints } from './discovery-chain.ts';
import { trustDomainForCluster } from '../../lib/spiffe.ts';
import { registerCoordinateEndpoints } from './coordinate.ts';
import { registerEventEndpoints } from './event.ts';
import { registerHealthEndpoints } from './health.ts';
import { registerIntentionEndpoints } from './intentions.ts';
import { registerKvEndpoints } from './kv.ts';
import { registerOperatorEndpoints } from './operator.ts';
import { registerQueryEndpoints } from './query.ts';
import { registerSessionEndpoints } from './session.ts';
import { registerSnapshotEndpoints } from './snapshot.ts';
import { registerStatusEndpoints } from './status.ts';
import { registerTxnEndpoints } from './txn.ts';
import { registerUnsupportedEndpoints } from './unsupported.ts';
import { SessionManager } from '../session/manager.ts';

export async function registerAllEndpoints(api: ApiRouter, deps: ServerDeps): Promise<void> {
  registerStatusEndpoints(api, deps);
  registerCatalogEndpoints(api, deps);
  registerHealthEndpoints(api, deps);
  await registerAgentEndpoints(api, deps);
  const sessions = new SessionManager(deps.store, deps.logger.child({ part: 'sessions' }));
  deps.onClose(() => sessions.close());
  registerKvEndpoints(api, deps, sessions);
  registerSessionEndpoints(api, deps, sessions);
  registerTxnEndpoints(api, deps);
  registerSnapshotEndpoints(api, deps);
  registerConfigEndpoints(api, deps);
  const ca = await registerConnectCaEndpoints(api, deps);
  registerIntentionEndpoints(api, deps);
  // Targets' SNI carry the CA's trust domain (<cluster-id>.consul) once the CA has its configuration.
  registerDiscoveryChainEndpoints(api, deps, () => {
    const config = ca.config();
    return config ? trustDomainForCluster(config.ClusterID) : PLACEHOLDER_TRUST_DOMAIN;
  });
  registerConnectEndpoints(api, deps);
  registerAgentLifecycleEndpoints(api, deps);
  registerAgentMonitorEndpoint(api, deps);
  registerCoordinateEndpoints(api, deps);
  registerEventEndpoints(api, deps);
  registerOperatorEndpoints(api, deps);
  registerQueryEndpoints(api, deps);
  registerAclEndpoints(api, deps, deps.aclSystem);
  registerAclAuthEndpoints(api, deps, deps.aclSystem);
  // Last: real endpoints registered above take their routes over (see unsupported.ts).
  registerUnsupportedEndpoints(api);
}
