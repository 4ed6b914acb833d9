/**
 * Where the static configuration comes from, as Traefik decides it (cmd/traefik: loaders File, Flag, Env, tried in
 * that order; the first that finds something is the only source — pkg/cli loader_file.go, loader_flag.go,
 * loader_env.go):
 *
 * 1. a file: `--configFile` (Meshgate also reads `--config`), else the first of Traefik's default locations
 *    (`/etc/traefik/traefik`, `$XDG_CONFIG_HOME/traefik`, `$HOME/.config/traefik`, `./traefik` with `.toml`,
 *    `.yaml`, `.yml`) — other flags are then ignored, as in Traefik;
 * 2. else the flags (`--entryPoints.web.address=:80`, `--ping`, `--providers.file.filename=x`);
 * 3. else the `TRAEFIK_*` environment variables (`TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80`).
 *
 * Flags and variables become the dotted overrides `loadStaticConfig` applies; keys match without regard to case.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigErrors } from './errors.ts';

export type StaticSource =
  | { kind: 'file'; file: string; ignoredFlags: string[] }
  | { kind: 'flags'; overrides: Record<string, string> }
  | { kind: 'env'; overrides: Record<string, string> }
  | { kind: 'none' };

export interface SourceContext {
  env: Record<string, string | undefined>;
  cwd: string;
}

const CONFIG_FILE_FLAGS = new Set(['configfile', 'config']);

/**
 * Traefik's flags: `--a.b=v`, `--a.b v` (a value that does not start with `-`), or a bare `--a.b` meaning true.
 * Single-dash spellings are accepted too. Throws MG_GATEWAY_CONFIG_OVERRIDE on anything that is not a flag.
 */
export function parseTraefikFlags(args: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--?([A-Za-z][\w.[\]-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw ConfigErrors.override(arg.replace(/^-+/, ''), 'expected a flag such as --entryPoints.web.address=:80');
    const name = m[1]!;
    if (m[2] !== undefined) flags[name] = m[2];
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('-')) flags[name] = args[++i]!;
    else flags[name] = 'true';
  }
  return flags;
}

/** `TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80` → `entrypoints.web.address`: paerser's env names, lower-cased and dotted. */
export function traefikEnvFlags(env: Record<string, string | undefined>): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !/^TRAEFIK_[A-Z0-9]/i.test(name)) continue;
    flags[name.slice('TRAEFIK_'.length).toLowerCase().split('_').filter((s) => s !== '').join('.')] = value;
  }
  return flags;
}

function defaultConfigFile(ctx: SourceContext): string | undefined {
  const bases = ['/etc/traefik/traefik'];
  if (ctx.env.XDG_CONFIG_HOME) bases.push(join(ctx.env.XDG_CONFIG_HOME, 'traefik'));
  if (ctx.env.HOME) bases.push(join(ctx.env.HOME, '.config', 'traefik'));
  bases.push(join(ctx.cwd, 'traefik'));
  for (const base of bases) {
    for (const ext of ['toml', 'yaml', 'yml']) if (existsSync(`${base}.${ext}`)) return `${base}.${ext}`;
  }
  return undefined;
}

/** Picks the one source of the static configuration from the command's Traefik flags and the environment. */
export function resolveStaticSource(flags: Record<string, string>, ctx: SourceContext): StaticSource {
  const fileFlag = Object.keys(flags).find((k) => CONFIG_FILE_FLAGS.has(k.toLowerCase()));
  const others = Object.keys(flags).filter((k) => k !== fileFlag);
  if (fileFlag !== undefined) {
    const file = resolve(ctx.cwd, flags[fileFlag]!);
    if (!existsSync(file)) throw ConfigErrors.read(file, `configuration file "${flags[fileFlag]}" not found`);
    return { kind: 'file', file, ignoredFlags: others };
  }
  const found = defaultConfigFile(ctx);
  if (found) return { kind: 'file', file: found, ignoredFlags: others };
  if (others.length > 0) return { kind: 'flags', overrides: flags };
  const env = traefikEnvFlags(ctx.env);
  if (Object.keys(env).length > 0) return { kind: 'env', overrides: env };
  return { kind: 'none' };
}
