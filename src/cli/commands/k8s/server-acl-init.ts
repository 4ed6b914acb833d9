/**
 * `meshgate k8s server-acl-init` — consul-k8s's `server-acl-init` job: bootstraps ACLs (or uses a given management
 * token), creates the `kubernetes` auth method with its binding rule and the components' tokens, stored as
 * Kubernetes Secrets; safe to rerun. Flag names follow consul-k8s's where it has the setting.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseDuration } from '../../../lib/duration.ts';
import { createLogger } from '../../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  kubeconfig?: string;
  resourcePrefix: string;
  k8sNamespace?: string;
  authMethodTokenSecret?: string;
  kubernetesHost?: string;
  aclBindingRuleSelector: string;
  bootstrapTokenFile?: string;
  component?: string[];
  timeout: string;
  logLevel: string;
}

export function k8sServerAclInitCommand(io: CliIO): Command {
  return addHttpFlags(new Command('server-acl-init'))
    .description('Bootstraps ACLs for Kubernetes: the kubernetes auth method, its binding rule and the components\' tokens as Secrets')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--resource-prefix <prefix>', 'prefix of the auth method, policies and Secrets (the release name)', 'meshgate')
    .option('--k8s-namespace <ns>', 'namespace the Secrets are written to (default: POD_NAMESPACE or default)')
    .option('--auth-method-token-secret <name>', 'service-account-token Secret with the auth method\'s reviewer JWT (default: <prefix>-auth-method)')
    .option('--kubernetes-host <url>', 'the API server address the auth method calls (default: the kubeconfig\'s)')
    .option('--acl-binding-rule-selector <selector>', 'selector of the binding rule', '')
    .option('--bootstrap-token-file <path>', 'file holding a management token to use instead of bootstrapping')
    .option('--component <name>', 'component to make a token for: connect-injector, crd-controller, sync-catalog (repeatable; default all)', collect)
    .option('--timeout <duration>', 'how long to wait for the server and the reviewer token', '5m')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .action(async (flags: Flags) => {
      const { loadKubeConfig } = await import('../../../kubernetes/kubeconfig.ts');
      const { runServerAclInit } = await import('../../../kubernetes/acl-bootstrap/run.ts');
      const { COMPONENTS } = await import('../../../kubernetes/acl-bootstrap/policies.ts');
      const components = flags.component ?? [...COMPONENTS];
      const unknown = components.filter((c) => !(COMPONENTS as readonly string[]).includes(c));
      if (unknown.length > 0) throw CliErrors.usage(`--component: unknown ${unknown.join(', ')} (one of ${COMPONENTS.join(', ')})`);
      let bootstrapToken: string | undefined;
      if (flags.bootstrapTokenFile) {
        try {
          bootstrapToken = readFileSync(flags.bootstrapTokenFile, 'utf8').trim();
        } catch (err) {
          throw CliErrors.failed(`Error reading the bootstrap token file: ${(err as Error).message}`);
        }
      }
      bootstrapToken ||= flags.token;
      const result = await runServerAclInit({
        kubeConfig: loadKubeConfig(flags.kubeconfig),
        consul: clientFrom(flags, io),
        logger: createLogger({ name: 'server-acl-init', level: flags.logLevel }),
        resourcePrefix: flags.resourcePrefix,
        namespace: flags.k8sNamespace ?? io.env['POD_NAMESPACE'] ?? 'default',
        ...(flags.authMethodTokenSecret ? { authMethodTokenSecret: flags.authMethodTokenSecret } : {}),
        ...(flags.kubernetesHost ? { kubernetesHost: flags.kubernetesHost } : {}),
        bindingRuleSelector: flags.aclBindingRuleSelector,
        components: components as typeof COMPONENTS[number][],
        ...(bootstrapToken ? { bootstrapToken } : {}),
        timeoutMs: parseDuration(flags.timeout, '--timeout'),
      });
      info(io, `==> ACLs ready: auth method ${result.authMethod}${result.bootstrapped ? ' (bootstrapped now)' : ''}; tokens for ${Object.keys(result.tokens).join(', ')}`);
    });
}
