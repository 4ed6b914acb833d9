/**
 * `meshgate k8s endpoints-controller` — consul-k8s's endpoints controller on its own (the connect injector runs the
 * same `runEndpointsController`): injected pods behind Services registered as their service and sidecar proxy, with
 * readiness as health, removed with their ACL tokens when they go; one replica acting at a time (Lease), until
 * SIGINT/SIGTERM.
 */
import { Command } from 'commander';
import { parseDuration } from '../../../lib/duration.ts';
import { createLogger } from '../../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { info, type CliIO } from '../../io.ts';
import { untilSignal } from '../../signals.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  kubeconfig?: string;
  allowK8sNamespace?: string[];
  denyK8sNamespace?: string[];
  aclAuthMethod?: string;
  resyncInterval: string;
  leaderElectionNamespace?: string;
  logLevel?: string;
}

export function k8sEndpointsControllerCommand(io: CliIO): Command {
  return addHttpFlags(new Command('endpoints-controller'))
    .description('Registers injected pods behind Kubernetes Services in the catalog, with their sidecar proxies')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--allow-k8s-namespace <ns>', 'namespace whose pods are registered (repeatable; * = all)', collect)
    .option('--deny-k8s-namespace <ns>', 'namespace never registered (repeatable; wins over allow)', collect)
    .option('--acl-auth-method <name>', 'the kubernetes auth method pods log in with: their tokens are deleted with them')
    .option('--resync-interval <duration>', 'period of the full reconcile', '30s')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or default)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Flags) => {
      const { loadKubeConfig } = await import('../../../kubernetes/kubeconfig.ts');
      const { runEndpointsController } = await import('../../../kubernetes/endpoints/run.ts');
      const running = await runEndpointsController({
        kubeConfig: loadKubeConfig(flags.kubeconfig),
        consul: clientFrom(flags, io),
        logger: createLogger({ name: 'endpoints-controller', ...(flags.logLevel ? { level: flags.logLevel } : {}) }),
        allowK8sNamespaces: new Set(flags.allowK8sNamespace ?? ['*']),
        denyK8sNamespaces: new Set(flags.denyK8sNamespace ?? []),
        ...(flags.aclAuthMethod ? { authMethod: flags.aclAuthMethod } : {}),
        resyncIntervalMs: parseDuration(flags.resyncInterval, '--resync-interval'),
        leaseNamespace: flags.leaderElectionNamespace ?? io.env['POD_NAMESPACE'] ?? 'default',
      });
      info(io, '==> Meshgate endpoints controller running');
      await untilSignal(['SIGINT', 'SIGTERM']);
      await running.close();
    });
}
