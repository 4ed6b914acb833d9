/**
 * Loads the ACME side (acme-client, its axios and node-forge: about 20 MiB of a gateway's resident memory) only when
 * the static configuration has `certificatesResolvers`; a gateway without them never pays for it.
 */
import type { Logger } from '../../lib/logger.ts';
import type { StaticConfig } from '../config/static.ts';
import type { AcmeManager, AcmeManagerOptions } from './manager.ts';

export async function loadAcmeManager(staticConfig: StaticConfig, logger: Logger, options: AcmeManagerOptions = {}): Promise<AcmeManager | undefined> {
  const resolvers = staticConfig.certificatesResolvers;
  if (!resolvers || Object.keys(resolvers).length === 0) return undefined;
  const { createAcmeManager } = await import('./manager.ts');
  return createAcmeManager(staticConfig, logger, options);
}
