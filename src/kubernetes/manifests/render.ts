/**
 * `meshgate k8s manifests`: the objects of every file whose condition holds for the values, in install order
 * (CRDs and RBAC before the workloads that need them), and their YAML as one multi-document stream for
 * `kubectl apply -f -`.
 */
import { stringify } from 'yaml';
import { generateWebhookCertificate, serviceDnsNames } from '../inject/certs.ts';
import type { KubeObject, WebhookTls } from './common.ts';
import { MANIFEST_FILES } from './files.ts';
import type { Values } from './values.ts';

export interface RenderOptions {
  namespace: string;
  /** The webhook's certificate; generated when absent. */
  tls?: WebhookTls;
}

function valueAt(values: Values, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

/** A fresh CA and serving certificate for the injector Service (the injector's own generator), base64 for the objects. */
async function webhookTls(service: string, namespace: string): Promise<WebhookTls> {
  const generated = await generateWebhookCertificate(serviceDnsNames(service, namespace));
  return { caBundle: b64(generated.caBundle), cert: b64(generated.cert), key: b64(generated.key) };
}

export async function renderManifests(values: Values, options: RenderOptions): Promise<KubeObject[]> {
  const tls = options.tls ?? await webhookTls(`${values.global.name}-connect-injector`, options.namespace);
  const ctx = { values, namespace: options.namespace, tls };
  return MANIFEST_FILES.filter((f) => f.when.every((path) => valueAt(values, path) === true)).flatMap((f) => f.build(ctx));
}

export function toYamlStream(objects: readonly KubeObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
