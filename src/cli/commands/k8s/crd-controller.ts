/**
 * `meshgate k8s crd-controller` — consul-k8s's config-entry controllers: ServiceDefaults, ServiceIntentions,
 * ServiceRouter, ServiceSplitter, ServiceResolver and ProxyDefaults resources written as configuration entries,
 * with a Synced condition and a finalizer, until SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { createLogger } from '../../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { info, type CliIO } from '../../io.ts';
import { untilSignal } from '../../signals.ts';

interface Flags extends HttpFlags {
  kubeconfig?: string;
  leaderElectionNamespace?: string;
  logLevel?: string;
}

export function k8sCrdControllerCommand(io: CliIO): Command {
  return addHttpFlags(new Command('crd-controller'))
    .description('Writes consul.hashicorp.com custom resources as configuration entries')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or default)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Flags) => {
      const { loadKubeConfig } = await import('../../../kubernetes/kubeconfig.ts');
      const { runCrdController } = await import('../../../kubernetes/crd/run.ts');
      const consul = clientFrom(flags, io);
      const running = await runCrdController({
        kubeConfig: loadKubeConfig(flags.kubeconfig),
        consul,
        logger: createLogger({ name: 'crd-controller', ...(flags.logLevel ? { level: flags.logLevel } : {}) }),
        datacenter: flags.datacenter ?? (await consul.agent.self()).Config.Datacenter,
        leaseNamespace: flags.leaderElectionNamespace ?? io.env['POD_NAMESPACE'] ?? 'default',
      });
      info(io, '==> Meshgate CRD controller running');
      await untilSignal(['SIGINT', 'SIGTERM']);
      await running.close();
    });
}
