/**
 * `meshgate gateway [Traefik flags…]` — the Traefik-compatible gateway, started the way `traefik` is: the static
 * configuration comes from one source, a file (`--configFile`/`--config` or Traefik's default locations), else the
 * flags (`--entryPoints.web.address=:80 --providers.file.filename=dyn.yml`), else `TRAEFIK_*` variables
 * (gateway/config/sources.ts). Meshgate's own flags: `--workers N`, `--lastGoodFile PATH`. Subcommands:
 * `healthcheck` (Traefik's container health check against `/ping`) and `version`.
 * The gateway installs its own signal handling (SIGHUP reload, SIGUSR1 reopen logs, SIGTERM/SIGINT graceful stop).
 */
import { Command } from 'commander';
import { CliErrors, info, type CliIO } from '../io.ts';
import { parseTraefikFlags, resolveStaticSource, type StaticSource } from '../../gateway/config/sources.ts';
import { healthcheckCommand } from './gateway/healthcheck.ts';
import { versionCommand } from './gateway/version.ts';

/** Meshgate's own options, taken out before the rest is read as Traefik's static configuration. */
const MESHGATE_FLAGS = new Set(['workers', 'lastgoodfile']);

export interface GatewayInvocation {
  source: StaticSource;
  workers?: number;
  lastGoodFile?: string;
}

/** Splits the command line into Meshgate's options and the one Traefik configuration source. */
export function gatewayInvocation(args: readonly string[], io: CliIO, cwd = process.cwd()): GatewayInvocation {
  const flags = parseTraefikFlags(args);
  const own: Record<string, string> = {};
  for (const key of Object.keys(flags)) {
    if (MESHGATE_FLAGS.has(key.toLowerCase())) {
      own[key.toLowerCase()] = flags[key]!;
      delete flags[key];
    }
  }
  let workers: number | undefined;
  if (own.workers !== undefined) {
    workers = Number(own.workers);
    if (!Number.isInteger(workers) || workers < 1) throw CliErrors.usage(`Error! -workers must be a positive integer, got "${own.workers}"`);
  }
  return {
    source: resolveStaticSource(flags, { env: io.env, cwd }),
    ...(workers !== undefined ? { workers } : {}),
    ...(own.lastgoodfile !== undefined ? { lastGoodFile: own.lastgoodfile } : {}),
  };
}

/** runGateway's options for a source (the file, or the flags/variables as dotted overrides). */
export function sourceOptions(source: StaticSource): { configFile?: string; overrides?: Record<string, string> } {
  if (source.kind === 'file') return { configFile: source.file };
  if (source.kind === 'flags' || source.kind === 'env') return { overrides: source.overrides };
  return {};
}

export function gatewayCommand(io: CliIO): Command {
  const cmd = new Command('gateway')
    .description('Runs the gateway (Traefik v3 static configuration from a file, flags or TRAEFIK_* variables)')
    .usage('[--configFile FILE | --entryPoints.<name>.address=ADDR …] [--workers N] [--lastGoodFile PATH]')
    .helpOption('-h, --help')
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]', 'Traefik static configuration flags')
    .action(async (args: string[]) => {
      const run = gatewayInvocation(args, io);
      const source = run.source;
      if (source.kind === 'file' && source.ignoredFlags.length > 0) {
        // Traefik reads one source: with a file, its flags are not read at all. Say so rather than drop them silently.
        io.err(`Configuration loaded from file ${source.file}; flags ignored (Traefik reads one source): ${source.ignoredFlags.map((f) => `--${f}`).join(' ')}\n`);
      }
      const { runGateway } = await import('../../gateway/main.ts');
      const handle = await runGateway({
        ...sourceOptions(source),
        ...(run.workers !== undefined ? { workers: run.workers } : {}),
        ...(run.lastGoodFile !== undefined ? { lastGoodFile: run.lastGoodFile } : {}),
      });
      const addresses = Object.entries(handle.addresses()).map(([name, a]) => `${name}=${a.address}:${a.port}`).join(', ');
      info(io, `==> Meshgate gateway running!${addresses ? ` Entry points: ${addresses}` : ''}`);
    });
  cmd.addCommand(healthcheckCommand(io));
  cmd.addCommand(versionCommand(io));
  return cmd;
}
