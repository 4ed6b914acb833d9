/**
 * `meshgate k8s connect-inject` put together (consul-k8s's inject-connect): the mutating webhook, served on every
 * replica — a webhook needs no leader, the API server may call any of them — and, each behind a flag, the
 * controllers that must act once: the CRD controller and the endpoints controller, each behind its own Lease. With no certificate given, one is generated at start and
 * its CA written to `caBundleFile` and into the named MutatingWebhookConfiguration, as consul-k8s's
 * webhook-cert-manager does; with several replicas, give them one certificate (a Secret) instead.
 */
import { writeFileSync } from 'node:fs';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { runCrdController } from '../crd/run.ts';
import { runEndpointsController } from '../endpoints/run.ts';
import { generateWebhookCertificate } from './certs.ts';
import type { InjectorConfig } from './config.ts';
import { ErrInjectFlag } from './errors.ts';
import { startWebhook, type RunningWebhook } from './webhook.ts';

export interface RunConnectInjectOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  config: InjectorConfig;
  enableWebhook: boolean;
  enableCrdController: boolean;
  enableEndpointsController: boolean;
  host?: string;
  port?: number;
  /** The serving certificate; generated when absent. */
  tls?: { cert: string; key: string };
  /** DNS names / IPs of a generated certificate. */
  certNames?: string[];
  /** Where a generated certificate's CA (PEM) is written for manifests to pick up. */
  caBundleFile?: string;
  /** MutatingWebhookConfiguration whose webhooks get a generated certificate's CA as caBundle. */
  webhookConfigName?: string;
  datacenter?: string;
  leaseNamespace: string;
  identity?: string;
}

export interface RunningConnectInject {
  readonly webhook: RunningWebhook | undefined;
  /** The CA of the serving certificate when it was generated here. */
  readonly caBundle: string | undefined;
  close(): Promise<void>;
}

export async function runConnectInject(options: RunConnectInjectOptions): Promise<RunningConnectInject> {
  if (!options.enableWebhook && !options.enableCrdController && !options.enableEndpointsController) throw ErrInjectFlag('enable-webhook', 'nothing to run: the webhook and every controller are disabled');
  const closers: Array<() => Promise<void>> = [];
  let webhook: RunningWebhook | undefined;
  let caBundle: string | undefined;
  try {
    if (options.enableWebhook) {
      let tls = options.tls;
      if (!tls) {
        const generated = await generateWebhookCertificate(options.certNames?.length ? options.certNames : ['localhost']);
        tls = generated;
        caBundle = generated.caBundle;
        if (options.caBundleFile) writeFileSync(options.caBundleFile, caBundle);
        if (options.webhookConfigName) await patchCaBundle(options.kubeConfig, options.webhookConfigName, caBundle, options.logger);
      }
      webhook = await startWebhook({
        config: options.config, kubeConfig: options.kubeConfig, logger: options.logger.child({ component: 'webhook' }), tls,
        ...(options.host !== undefined ? { host: options.host } : {}), ...(options.port !== undefined ? { port: options.port } : {}),
      });
      closers.push(() => webhook!.close());
      options.logger.info({ url: webhook.url }, 'connect injector webhook listening');
    }
    if (options.enableCrdController) {
      const crd = await runCrdController({
        kubeConfig: options.kubeConfig, consul: options.consul, logger: options.logger.child({ component: 'crd-controller' }),
        datacenter: options.datacenter ?? (await options.consul.agent.self()).Config.Datacenter,
        leaseNamespace: options.leaseNamespace, ...(options.identity ? { identity: options.identity } : {}),
      });
      closers.push(() => crd.close());
    }
    if (options.enableEndpointsController) {
      const endpoints = await runEndpointsController({
        kubeConfig: options.kubeConfig, consul: options.consul, logger: options.logger.child({ component: 'endpoints-controller' }),
        allowK8sNamespaces: new Set(options.config.allowNamespaces), denyK8sNamespaces: new Set(options.config.denyNamespaces),
        ...(options.config.authMethod ? { authMethod: options.config.authMethod } : {}),
        overwriteProbesDefault: options.config.transparentProxyOverwriteProbes,
        leaseNamespace: options.leaseNamespace, ...(options.identity ? { identity: options.identity } : {}),
      });
      closers.push(() => endpoints.close());
    }
  } catch (err) {
    for (const close of closers.reverse()) await close();
    throw err;
  }
  return {
    webhook,
    caBundle,
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

/** Sets caBundle on every webhook of the configuration, retrying a write that lost a race with another writer. */
async function patchCaBundle(kubeConfig: KubeConfig, name: string, caBundle: string, logger: Logger): Promise<void> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const encoded = Buffer.from(caBundle).toString('base64');
  for (let attempt = 1; ; attempt++) {
    const current = await api.readMutatingWebhookConfiguration({ name });
    for (const webhook of current.webhooks ?? []) webhook.clientConfig = { ...webhook.clientConfig, caBundle: encoded };
    try {
      await api.replaceMutatingWebhookConfiguration({ name, body: current });
      logger.info({ webhookConfiguration: name }, 'wrote the CA bundle into the webhook configuration');
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
    }
  }
}
