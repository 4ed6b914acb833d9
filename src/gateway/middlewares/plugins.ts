/**
 * Middleware plugins, in the shape of Traefik's: the static configuration names them under
 * `experimental.localPlugins.<name>` (a module path) or `experimental.plugins.<name>` (an installed npm
 * package), each `{ moduleName, ... }`; `loadPlugins` imports them, and dynamic configuration then uses one as
 * `plugin: { <name>: { ...its configuration } }`, like Traefik.
 *
 * A plugin module default-exports a `GatewayPlugin` (see docs/gateway-plugins.md). Its configuration is
 * validated by its own zod schema when it gives one; errors are reported under `plugin.<name>.<key>`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z, type ZodType } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import type { Middleware } from '../http/types.ts';
import { registerMiddleware, type MiddlewareBuildContext } from './registry.ts';

/** What a plugin module default-exports. */
export interface GatewayPlugin<C = unknown> {
  /** The plugin's own identifier (for logs and errors), e.g. "demo" or "github.com/acme/jwt-claims". */
  readonly kind: string;
  /** Validates the plugin's configuration block; without one, any object is passed through as is. */
  readonly schema?: ZodType<C>;
  /** Called once per configuration build; the returned middleware wraps each router's next handler. */
  create(config: C, context: MiddlewareBuildContext): Middleware;
}

const pluginEntrySchema = z
  .object({
    moduleName: z.string().min(1),
    version: z.string().optional(),
    /** Traefik's WASM plugin settings; Meshgate runs JavaScript plugins and ignores them. */
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const pluginsStaticSchema = z
  .object({
    plugins: z.record(z.string(), pluginEntrySchema).optional(),
    localPlugins: z.record(z.string(), pluginEntrySchema).optional(),
  })
  .strict();

export interface PluginsStaticConfig {
  experimental?: z.input<typeof pluginsStaticSchema> & Record<string, unknown>;
}

export interface LoadPluginsOptions {
  /** Where local module paths and npm packages are resolved from (default: the working directory). */
  baseDir?: string;
  logger?: Logger;
}

const loaded = new Map<string, GatewayPlugin<unknown>>();
const anyConfig: ZodType<unknown> = z.record(z.string(), z.unknown());

export function getPlugin(name: string): GatewayPlugin<unknown> | undefined {
  return loaded.get(name);
}

export function listPlugins(): string[] {
  return [...loaded.keys()].sort();
}

/** Registers a plugin object directly (tests, embedding); `loadPlugins` uses it for every module it imports. */
export function registerPlugin(name: string, candidate: unknown, origin = name): GatewayPlugin<unknown> {
  const p = candidate as Partial<GatewayPlugin<unknown>> | undefined;
  if (!p || typeof p !== 'object' || typeof p.kind !== 'string' || typeof p.create !== 'function') {
    throw new Error(`plugin "${name}" (${origin}): the module's default export must be { kind: string, schema?: ZodType, create(config, context) }`);
  }
  if (p.schema !== undefined && typeof (p.schema as { safeParse?: unknown }).safeParse !== 'function') {
    throw new Error(`plugin "${name}" (${origin}): schema must be a zod schema`);
  }
  const plugin = p as GatewayPlugin<unknown>;
  loaded.set(name, plugin);
  // Also as `plugin:<name>`, which the configuration parser looks up first (errors then read plugin.<name>.<key>).
  registerMiddleware(`plugin:${name}`, { schema: plugin.schema ?? anyConfig, create: (config, context) => plugin.create(config, context) }, { replace: true });
  return plugin;
}

/** A directory module: package.json `exports["."]`/`exports`/`main`, else index.{js,mjs,ts}. */
function entryOf(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const pkgPath = join(path, 'package.json');
  if (existsSync(pkgPath)) {
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: unknown; main?: string };
    const exp = pkg.exports;
    const dot = typeof exp === 'string' ? exp : typeof exp === 'object' && exp !== null ? (exp as Record<string, unknown>)['.'] : undefined;
    const target = typeof dot === 'string' ? dot : typeof dot === 'object' && dot !== null ? ((dot as Record<string, unknown>).import ?? (dot as Record<string, unknown>).default) : undefined;
    if (typeof target === 'string') return join(path, target);
    if (pkg.main) return join(path, pkg.main);
  }
  for (const index of ['index.js', 'index.mjs', 'index.ts']) if (existsSync(join(path, index))) return join(path, index);
  throw new Error(`no entry point in ${path} (package.json main/exports or index.js/index.ts)`);
}

function localPath(moduleName: string, baseDir: string): string {
  const direct = isAbsolute(moduleName) ? moduleName : resolve(baseDir, moduleName);
  if (existsSync(direct)) return entryOf(direct);
  // Traefik's layout for local plugins: ./plugins-local/src/<moduleName>
  const traefikLayout = resolve(baseDir, 'plugins-local', 'src', moduleName);
  if (existsSync(traefikLayout)) return entryOf(traefikLayout);
  throw new Error(`local plugin module "${moduleName}" not found (looked in ${direct} and ${traefikLayout})`);
}

async function importDefault(specifier: string): Promise<unknown> {
  const mod = (await import(specifier)) as { default?: unknown };
  return mod.default ?? mod;
}

/**
 * Imports and registers every plugin of the static configuration. Returns the names loaded. A plugin that
 * fails to load fails the whole call, with its name in the message: a gateway should not start half-configured.
 */
export async function loadPlugins(staticConfig: PluginsStaticConfig, options: LoadPluginsOptions = {}): Promise<string[]> {
  const experimental = staticConfig.experimental;
  if (!experimental) return [];
  const parsed = pluginsStaticSchema.safeParse({ plugins: experimental.plugins, localPlugins: experimental.localPlugins });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`experimental.${issue.path.join('.')}: ${issue.message}`);
  }
  const baseDir = options.baseDir ?? process.cwd();
  const names: string[] = [];
  for (const [name, entry] of Object.entries(parsed.data.localPlugins ?? {})) {
    const file = localPath(entry.moduleName, baseDir);
    registerPlugin(name, await importDefault(pathToFileURL(file).href), entry.moduleName);
    options.logger?.info({ plugin: name, module: file }, 'loaded local middleware plugin');
    names.push(name);
  }
  const require = createRequire(join(baseDir, 'package.json'));
  for (const [name, entry] of Object.entries(parsed.data.plugins ?? {})) {
    let specifier = entry.moduleName;
    try {
      specifier = pathToFileURL(require.resolve(entry.moduleName)).href;
    } catch (err) {
      // ESM-only packages may not resolve through require; let import() try from here and report its error.
      options.logger?.debug({ plugin: name, err }, 'require.resolve failed; importing by name');
    }
    if (entry.version) checkVersion(require, name, entry.moduleName, entry.version);
    registerPlugin(name, await importDefault(specifier), entry.moduleName);
    options.logger?.info({ plugin: name, module: entry.moduleName }, 'loaded middleware plugin');
    names.push(name);
  }
  return names;
}

function checkVersion(require: NodeJS.Require, name: string, moduleName: string, wanted: string): void {
  let installed: string | undefined;
  try {
    installed = (require(`${moduleName}/package.json`) as { version?: string }).version;
  } catch {
    return; // packages that do not export package.json cannot be checked; import() decides
  }
  const bare = wanted.replace(/^v/, '');
  if (installed !== undefined && installed !== bare) {
    throw new Error(`plugin "${name}": ${moduleName}@${installed} is installed, the static configuration asks for ${wanted} (npm i ${moduleName}@${bare})`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The `plugin` middleware kind: `plugin: { <name>: { ... } }`

interface PluginUse {
  name: string;
  plugin: GatewayPlugin<unknown>;
  config: unknown;
}

export const pluginMiddlewareSchema = z.record(z.string(), z.unknown()).transform((value, ctx): PluginUse => {
  const names = Object.keys(value);
  if (names.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `plugin: exactly one plugin name expected, got ${names.length}` });
    return z.NEVER;
  }
  const name = names[0]!;
  const plugin = loaded.get(name);
  if (!plugin) {
    ctx.addIssue({ code: 'custom', path: [name], message: `plugin "${name}" is not installed (declare it in experimental.localPlugins or experimental.plugins)` });
    return z.NEVER;
  }
  const raw = value[name] ?? {};
  if (!plugin.schema) return { name, plugin, config: raw };
  const parsed = plugin.schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return { name, plugin, config: parsed.data };
});

registerMiddleware('plugin', {
  schema: pluginMiddlewareSchema,
  create(use, context) {
    return use.plugin.create(use.config, context);
  },
});
