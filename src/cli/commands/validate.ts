/**
 * `meshgate validate FILE_OR_DIRECTORY…` — reads agent configuration files as `meshgate server` and `meshgate agent` would and reports
 * every problem, without starting anything (Consul's command/validate: "Configuration is valid!" and exit 0, or
 * "Config validation failed: …" and exit 1; `-quiet` drops the success line). The server-level checks that need no
 * running server (HTTPS without a certificate, `server = false`) run too.
 */
import { Command } from 'commander';
import { buildAgentConfig, CLIENT_AGENT_KEYS } from '../../agent/agent-config.ts';
import { configSourcesOf } from '../../agent/config-files.ts';
import { checkAgentConfig, readConfigDocuments } from '../../lib/agent-config/index.ts';
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
        // Each file is read and parsed once; both readers below check the same documents.
        const read = await readConfigDocuments(paths);
        const loaded = checkAgentConfig(read, { omitKeys: CLIENT_AGENT_KEYS });
        for (const warning of loaded.warnings) info(io, `==> Warning: ${warning}`);
        serverOptionsFrom({ ...SERVER_FLAG_DEFAULTS, store: 'sqlite' }, () => false, loaded.config);
        // The client agent's own keys (template, node_meta, …), and its service and check definitions, as
        // `meshgate agent` reads them: one file may serve either, as Consul's one builder takes both.
        buildAgentConfig(configSourcesOf(read));
      } catch (err) {
        if (isMeshgateError(err)) throw CliErrors.failed(`Config validation failed: ${err.message}`);
        throw err;
      }
      if (!flags.quiet) info(io, 'Configuration is valid!');
    });
}
