/**
 * Loads the ACME side (acme-client, its axios and node-forge: about 20 MiB of a gateway's resident memory) only when
 * the static configuration has an ACME `certificatesResolvers` entry; a gateway without them never pays for it.
 */
import type { Logger } from '../../lib/logger.ts';
import type { StaticConfig } from '../config/static.ts';
import type { AcmeManager, AcmeManagerOptions } from './manager.ts';

/** Whether any `certificatesResolvers.<name>` is an ACME one (a `tailscale` one needs none of this). */
export function hasAcmeResolvers(staticConfig: StaticConfig): boolean {
  return Object.values(staticConfig.certificatesResolvers ?? {}).some((r) => r.acme !== undefined);
}

export async function loadAcmeManager(staticConfig: StaticConfig, logger: Logger, options: AcmeManagerOptions = {}): Promise<AcmeManager | undefined> {
  if (!hasAcmeResolvers(staticConfig)) return undefined;
  const { createAcmeManager } = await import('./manager.ts');
  return createAcmeManager(staticConfig, logger, options);
}
