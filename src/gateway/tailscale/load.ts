/**
 * Loads the Tailscale resolvers only when a `certificatesResolvers.<name>.tailscale` is configured, so a plain
 * gateway keeps none of this module graph resident (test/gateway/startup-modules.test.ts).
 */
import type { Logger } from '../../lib/logger.ts';
import type { StaticConfig } from '../config/static.ts';
import type { TailscaleManager, TailscaleManagerOptions } from './manager.ts';

export function hasTailscaleResolvers(staticConfig: StaticConfig): boolean {
  return Object.values(staticConfig.certificatesResolvers ?? {}).some((r) => r.tailscale !== undefined);
}

export async function loadTailscaleManager(staticConfig: StaticConfig, logger: Logger, options: TailscaleManagerOptions = {}): Promise<TailscaleManager | undefined> {
  if (!hasTailscaleResolvers(staticConfig)) return undefined;
  const { TailscaleManager } = await import('./manager.ts');
  return new TailscaleManager(staticConfig, logger, options);
}
