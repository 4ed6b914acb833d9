/**
 * `meshgate gateway --config FILE [--workers N]` — the Traefik-compatible gateway. It installs its own signal
 * handling (SIGHUP reload, SIGTERM/SIGINT graceful stop), so this command only starts it.
 */
import { Command } from 'commander';
import { CliErrors, info, type CliIO } from '../io.ts';

interface Flags {
  config?: string;
  workers?: string;
}

export function gatewayCommand(io: CliIO): Command {
  return new Command('gateway')
    .description('Runs the gateway (Traefik v3 static and dynamic configuration)')
    .option('--config <file>', 'static configuration file (YAML or TOML)')
    .option('--workers <n>', 'worker processes (default: one per core; 1 serves in this process)')
    .action(async (flags: Flags) => {
      let workers: number | undefined;
      if (flags.workers !== undefined) {
        workers = Number(flags.workers);
        if (!Number.isInteger(workers) || workers < 1) throw CliErrors.usage(`Error! -workers must be a positive integer, got "${flags.workers}"`);
      }
      const { runGateway } = await import('../../gateway/main.ts');
      const handle = await runGateway({
        ...(flags.config ? { configFile: flags.config } : {}),
        ...(workers !== undefined ? { workers } : {}),
      });
      const addresses = Object.entries(handle.addresses()).map(([name, a]) => `${name}=${a.address}:${a.port}`).join(', ');
      info(io, `==> Meshgate gateway running!${addresses ? ` Entry points: ${addresses}` : ''}`);
    });
}
