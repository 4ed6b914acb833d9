/**
 * The `meshgate` command. `main(argv, io)` builds the commander program, runs it and returns the exit code
 * (0 success, 1 any failure, as the consul CLI); it never calls process.exit itself, so a long-running command
 * (`server`, `gateway`) keeps the process alive and tests can run it in process.
 * Consul spells long flags with one dash (`-recurse`); `normalizeFlags` rewrites them to commander's `--recurse`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { isMeshgateError } from '../lib/errors.ts';
import { aclCommand } from './commands/acl/index.ts';
import { loginCommand, logoutCommand } from './commands/acl/login.ts';
import { agentCommand } from './commands/agent.ts';
import { catalogNodesCommand } from './commands/catalog/nodes.ts';
import { catalogServicesCommand } from './commands/catalog/services.ts';
import { connectRedirectTrafficCommand } from './commands/connect/redirect-traffic.ts';
import { configDeleteCommand } from './commands/config/delete.ts';
import { configListCommand } from './commands/config/list.ts';
import { configReadCommand } from './commands/config/read.ts';
import { configWriteCommand } from './commands/config/write.ts';
import { gatewayCommand } from './commands/gateway.ts';
import { k8sAclInitCommand } from './commands/k8s/acl-init.ts';
import { k8sConnectInjectCommand } from './commands/k8s/connect-inject.ts';
import { k8sCrdControllerCommand } from './commands/k8s/crd-controller.ts';
import { k8sEndpointsControllerCommand } from './commands/k8s/endpoints-controller.ts';
import { k8sManifestsCommand } from './commands/k8s/manifests.ts';
import { k8sServerAclInitCommand } from './commands/k8s/server-acl-init.ts';
import { k8sSyncCatalogCommand } from './commands/k8s/sync-catalog.ts';
import { kvDeleteCommand } from './commands/kv/delete.ts';
import { kvGetCommand } from './commands/kv/get.ts';
import { kvPutCommand } from './commands/kv/put.ts';
import { proxyCommand } from './commands/proxy.ts';
import { reloadCommand } from './commands/reload.ts';
import { serverCommand } from './commands/server.ts';
import { servicesDeregisterCommand } from './commands/services/deregister.ts';
import { servicesRegisterCommand } from './commands/services/register.ts';
import { snapshotRestoreCommand } from './commands/snapshot/restore.ts';
import { snapshotSaveCommand } from './commands/snapshot/save.ts';
import { validateCommand } from './commands/validate.ts';
import { processIO, type CliIO } from './io.ts';

import { CLI_VERSION } from './version.ts';

export { CLI_VERSION };

export function buildProgram(io: CliIO): Command {
  const program = new Command('meshgate')
    .description('Service mesh and edge gateway: Consul-compatible server and a Traefik-compatible gateway')
    .version(CLI_VERSION, '-v, --version');
  program.addCommand(serverCommand(io));
  program.addCommand(gatewayCommand(io));
  program.addCommand(proxyCommand(io));
  program.addCommand(agentCommand(io));
  program.addCommand(reloadCommand(io));
  const kv = new Command('kv').description('Interact with the key-value store');
  kv.addCommand(kvGetCommand(io)).addCommand(kvPutCommand(io)).addCommand(kvDeleteCommand(io));
  program.addCommand(kv);
  const catalog = new Command('catalog').description('Interact with the catalog');
  catalog.addCommand(catalogServicesCommand(io)).addCommand(catalogNodesCommand(io));
  program.addCommand(catalog);
  const config = new Command('config').description('Interact with Consul\'s centralized configurations');
  config.addCommand(configWriteCommand(io)).addCommand(configReadCommand(io)).addCommand(configListCommand(io)).addCommand(configDeleteCommand(io));
  program.addCommand(config);
  const connect = new Command('connect').description('Interact with the service mesh (Connect)');
  connect.addCommand(connectRedirectTrafficCommand(io));
  program.addCommand(connect);
  const k8s = new Command('k8s').description('Run Meshgate\'s Kubernetes integration (consul-k8s\'s role)');
  k8s.addCommand(k8sSyncCatalogCommand(io)).addCommand(k8sCrdControllerCommand(io)).addCommand(k8sManifestsCommand(io));
  k8s.addCommand(k8sConnectInjectCommand(io)).addCommand(k8sAclInitCommand(io));
  k8s.addCommand(k8sEndpointsControllerCommand(io)).addCommand(k8sServerAclInitCommand(io));
  program.addCommand(k8s);
  const services = new Command('services').description('Register and deregister services with the local agent');
  services.addCommand(servicesRegisterCommand(io)).addCommand(servicesDeregisterCommand(io));
  program.addCommand(services);
  const snapshot = new Command('snapshot').description('Saves and restores snapshots of the server state');
  snapshot.addCommand(snapshotSaveCommand(io)).addCommand(snapshotRestoreCommand(io));
  program.addCommand(snapshot);
  program.addCommand(validateCommand(io));
  program.addCommand(aclCommand(io));
  program.addCommand(loginCommand(io)).addCommand(logoutCommand(io));
  applyRecursively(program, (cmd) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  });
  return program;
}

/** `-recurse` → `--recurse`, `-modify-index=5` → `--modify-index=5`; single letters, `-`, numbers and anything after `--` stay. */
export function normalizeFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of argv) {
    if (passthrough) out.push(arg);
    else if (arg === '--') {
      passthrough = true;
      out.push(arg);
    } else if (/^-[A-Za-z][A-Za-z0-9-]+(=.*)?$/s.test(arg)) out.push(`-${arg}`);
    else out.push(arg);
  }
  return out;
}

export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(normalizeFlags(argv), { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    if (isMeshgateError(err)) io.err(`${err.message}\n`);
    else io.err(`Error! ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

function applyRecursively(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) applyRecursively(sub, fn);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false; // argv[1] is not a file (e.g. `node -e`): imported, not run
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
