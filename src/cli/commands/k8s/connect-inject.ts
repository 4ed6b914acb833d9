/**
 * `meshgate k8s connect-inject` — consul-k8s's `inject-connect`: the connect injector's mutating webhook (every
 * replica serves it) and, by flag, the controllers that leader-elect (the CRD controller and the endpoints controller,
 * each behind its Lease), until SIGINT/SIGTERM. Flag names follow consul-k8s's where it has the setting.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parseBool } from '../../../kubernetes/annotations.ts';
import { createLogger } from '../../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { CliErrors, info, type CliIO } from '../../io.ts';
import { untilSignal } from '../../signals.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  kubeconfig?: string;
  listen: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  webhookService: string;
  tlsSan: string[];
  caBundleFile?: string;
  webhookConfigName?: string;
  image: string;
  podHttpAddr?: string;
  aclAuthMethod?: string;
  defaultInject: string;
  defaultEnableTransparentProxy: string;
  transparentProxyDefaultOverwriteProbes: string;
  allowK8sNamespace?: string[];
  denyK8sNamespace?: string[];
  defaultSidecarProxyCpuRequest?: string;
  defaultSidecarProxyCpuLimit?: string;
  defaultSidecarProxyMemoryRequest?: string;
  defaultSidecarProxyMemoryLimit?: string;
  enableWebhook: string;
  enableCrdController: string;
  enableEndpointsController: string;
  leaderElectionNamespace?: string;
  logLevel: string;
}

/** Go's strconv.ParseBool, as consul-k8s's boolean flags. */
function boolFlag(value: string, flag: string): boolean {
  const parsed = parseBool(value);
  if (parsed === undefined) throw CliErrors.usage(`--${flag}: expected true or false, got "${value}"`);
  return parsed;
}

function listenFlag(value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw CliErrors.usage(`--listen: expected [host]:port, got "${value}"`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : '0.0.0.0', port };
}

export function k8sConnectInjectCommand(io: CliIO): Command {
  return addHttpFlags(new Command('connect-inject'))
    .description('Runs the connect injector webhook and, by flag, the endpoints and CRD controllers')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--listen <[host]:port>', 'address the HTTPS webhook listens on', ':8080')
    .option('--tls-cert-file <path>', 'PEM certificate of the webhook (default: generated at start)')
    .option('--tls-key-file <path>', 'PEM private key of the webhook')
    .option('--webhook-service <name>', 'Service in front of the webhook, named in a generated certificate', 'meshgate-connect-injector')
    .option('--tls-san <name>', 'extra DNS name or IP of a generated certificate (repeatable)', collect, [])
    .option('--ca-bundle-file <path>', 'write a generated certificate\'s CA (PEM) here')
    .option('--webhook-config-name <name>', 'MutatingWebhookConfiguration to write a generated certificate\'s CA into')
    .option('--image <image>', 'image with the meshgate binary, for the injected containers', 'meshgate:latest')
    .option('--pod-http-addr <address>', 'the server\'s HTTP API as injected pods reach it (default: --http-addr)')
    .option('--acl-auth-method <name>', 'auth method the injected init container logs in with')
    .option('--default-inject <bool>', 'inject pods without a connect-inject annotation', 'false')
    .option('--default-enable-transparent-proxy <bool>', 'transparent proxy unless a pod or namespace says otherwise', 'false')
    .option('--transparent-proxy-default-overwrite-probes <bool>', 'move transparent-proxy pods\' HTTP probes to the sidecar\'s expose listeners unless a pod says otherwise', 'true')
    .option('--allow-k8s-namespace <ns>', 'namespace to inject in (repeatable; * = all; default *)', collect)
    .option('--deny-k8s-namespace <ns>', 'namespace never injected (repeatable; wins over allow)', collect)
    .option('--default-sidecar-proxy-cpu-request <q>', 'sidecar CPU request unless annotated')
    .option('--default-sidecar-proxy-cpu-limit <q>', 'sidecar CPU limit unless annotated')
    .option('--default-sidecar-proxy-memory-request <q>', 'sidecar memory request unless annotated')
    .option('--default-sidecar-proxy-memory-limit <q>', 'sidecar memory limit unless annotated')
    .option('--enable-webhook <bool>', 'serve the mutating webhook', 'true')
    .option('--enable-crd-controller <bool>', 'run the CRD controller (leader-elected)', 'false')
    .option('--enable-endpoints-controller <bool>', 'run the endpoints controller (leader-elected)', 'false')
    .option('--leader-election-namespace <ns>', 'namespace of the Leases (default: POD_NAMESPACE or default)')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .action(async (flags: Flags) => {
      const { loadKubeConfig } = await import('../../../kubernetes/kubeconfig.ts');
      const { runConnectInject } = await import('../../../kubernetes/inject/run.ts');
      const { defaultInjectorConfig } = await import('../../../kubernetes/inject/config.ts');
      const { serviceDnsNames } = await import('../../../kubernetes/inject/certs.ts');
      if (Boolean(flags.tlsCertFile) !== Boolean(flags.tlsKeyFile)) throw CliErrors.usage('--tls-cert-file and --tls-key-file go together');
      let tls: { cert: string; key: string } | undefined;
      if (flags.tlsCertFile && flags.tlsKeyFile) {
        try {
          tls = { cert: readFileSync(flags.tlsCertFile, 'utf8'), key: readFileSync(flags.tlsKeyFile, 'utf8') };
        } catch (err) {
          throw CliErrors.failed(`Error reading the webhook certificate: ${(err as Error).message}`);
        }
      }
      const namespace = io.env['POD_NAMESPACE'] ?? 'default';
      const consul = clientFrom(flags, io);
      const resources = {
        ...(flags.defaultSidecarProxyCpuRequest ? { cpuRequest: flags.defaultSidecarProxyCpuRequest } : {}),
        ...(flags.defaultSidecarProxyCpuLimit ? { cpuLimit: flags.defaultSidecarProxyCpuLimit } : {}),
        ...(flags.defaultSidecarProxyMemoryRequest ? { memoryRequest: flags.defaultSidecarProxyMemoryRequest } : {}),
        ...(flags.defaultSidecarProxyMemoryLimit ? { memoryLimit: flags.defaultSidecarProxyMemoryLimit } : {}),
      };
      const { host, port } = listenFlag(flags.listen);
      const running = await runConnectInject({
        kubeConfig: loadKubeConfig(flags.kubeconfig),
        consul,
        logger: createLogger({ name: 'connect-inject', level: flags.logLevel }),
        config: defaultInjectorConfig({
          image: flags.image,
          defaultInject: boolFlag(flags.defaultInject, 'default-inject'),
          transparentProxyDefault: boolFlag(flags.defaultEnableTransparentProxy, 'default-enable-transparent-proxy'),
          transparentProxyOverwriteProbes: boolFlag(flags.transparentProxyDefaultOverwriteProbes, 'transparent-proxy-default-overwrite-probes'),
          allowNamespaces: flags.allowK8sNamespace ?? ['*'],
          denyNamespaces: flags.denyK8sNamespace ?? [],
          httpAddr: flags.podHttpAddr ?? flags.httpAddr ?? consul.address,
          logLevel: flags.logLevel,
          defaultResources: resources,
          ...(flags.aclAuthMethod ? { authMethod: flags.aclAuthMethod } : {}),
        }),
        enableWebhook: boolFlag(flags.enableWebhook, 'enable-webhook'),
        enableCrdController: boolFlag(flags.enableCrdController, 'enable-crd-controller'),
        enableEndpointsController: boolFlag(flags.enableEndpointsController, 'enable-endpoints-controller'),
        host, port,
        ...(tls ? { tls } : {}),
        certNames: [...serviceDnsNames(flags.webhookService, namespace), ...flags.tlsSan],
        ...(flags.caBundleFile ? { caBundleFile: flags.caBundleFile } : {}),
        ...(flags.webhookConfigName ? { webhookConfigName: flags.webhookConfigName } : {}),
        ...(flags.datacenter ? { datacenter: flags.datacenter } : {}),
        leaseNamespace: flags.leaderElectionNamespace ?? namespace,
      });
      info(io, `==> Meshgate connect injector running${running.webhook ? `; webhook: ${running.webhook.url}` : ''}`);
      await untilSignal(['SIGINT', 'SIGTERM']);
      await running.close();
    });
}
