/**
 * Loading the middleware plugins the static configuration names (`experimental.plugins` / `localPlugins`): a
 * runtime step, not configuration parsing, since it imports code (so config/ stays free of middleware code).
 */
import type { Logger } from '../../lib/logger.ts';
import { ConfigErrors } from '../config/errors.ts';
import type { StaticConfig } from '../config/static.ts';

/**
 * Imports the static configuration's middleware plugins so `plugin: { <name>: … }` validates and builds. Module
 * paths resolve against the working directory, as in Traefik (docs/gateway-plugins.md). A plugin that fails to load
 * fails the start.
 */
export async function loadStaticPlugins(config: StaticConfig, logger?: Logger): Promise<string[]> {
  if (!config.experimental?.plugins && !config.experimental?.localPlugins) return [];
  // Imported only when plugins are configured: most gateways never load the plugin machinery.
  const { loadPlugins } = await import('../middlewares/plugins.ts');
  try {
    return await loadPlugins({ experimental: config.experimental } as Parameters<typeof loadPlugins>[0], { baseDir: process.cwd(), ...(logger ? { logger } : {}) });
  } catch (err) {
    throw ConfigErrors.invalid(config.file ?? 'static configuration', (err as Error).message);
  }
}
