/**
 * `meshgate validate FILE_OR_DIRECTORY…` — reads agent configuration files as `meshgate server` would and reports
 * every problem, without starting anything (Consul's command/validate: "Configuration is valid!" and exit 0, or
 * "Config validation failed: …" and exit 1; `-quiet` drops the success line). The server-level checks that need no
 * running server (HTTPS without a certificate, `server = false`) run too.
 */
import { Command } from 'commander';
import { loadAgentConfig } from '../../lib/agent-config/index.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { CliErrors, info, type CliIO } from '../io.ts';
import { SERVER_FLAG_DEFAULTS, serverOptionsFrom } from '../server-options.ts';

export function validateCommand(io: CliIO): Command {
  return new Command('validate')
    .description('Validate config files/directories')
    .argument('[paths...]', 'configuration files (.json, .hcl) or directories of them')
    .option('--quiet', 'print nothing when the configuration is valid')
    .action(async (paths: string[], flags: { quiet?: boolean }) => {
      if (paths.length === 0) throw CliErrors.usage('Must specify at least one config file or directory');
      try {
        const loaded = await loadAgentConfig(paths);
        for (const warning of loaded.warnings) info(io, `==> Warning: ${warning}`);
        serverOptionsFrom({ ...SERVER_FLAG_DEFAULTS, store: 'sqlite' }, () => false, loaded.config);
      } catch (err) {
        if (isMeshgateError(err)) throw CliErrors.failed(`Config validation failed: ${err.message}`);
        throw err;
      }
      if (!flags.quiet) info(io, 'Configuration is valid!');
    });
}
