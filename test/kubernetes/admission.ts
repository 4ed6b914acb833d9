/**
 * Mutating admission for the test API server, as kube-apiserver runs it before an object is stored
 * (Kubernetes docs, "Dynamic Admission Control"; apiserver's pkg/admission/plugin/webhook/mutating/dispatcher.go):
 * every webhook of every MutatingWebhookConfiguration (admissionregistration.k8s.io/v1, configurations in name
 * order, webhooks in list order) whose `rules`, `namespaceSelector` and `objectSelector` match the request gets an
 * AdmissionReview v1 POSTed over HTTPS — to `clientConfig.url`, or for a `clientConfig.service` reference to the
 * URL the test mapped it to, with the certificate checked for `<service>.<namespace>.svc` as the real server does —
 * and the server certificate is verified against the webhook's `caBundle`. A JSONPatch answer is applied to the
 * object; `allowed: false` rejects the request with the webhook's status (400 at least, "admission webhook … denied
 * the request"); a call that fails (connection, TLS, timeout, bad answer) follows `failurePolicy`: Fail (the
 * default) rejects with 500 InternalError "failed calling webhook", Ignore goes on without it.
 * Not modelled: reinvocationPolicy, matchPolicy Equivalent, matchConditions, sideEffects/dryRun.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:https';
import type { KubeObject } from './apiserver.ts';

export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  kind: string;
  namespace: string | undefined;
  object: KubeObject;
  oldObject?: KubeObject;
}

export type AdmissionResult = { allowed: true; object: KubeObject } | { allowed: false; code: number; reason: string; message: string };

export interface AdmissionContext {
  /** The stored MutatingWebhookConfiguration objects. */
  configurations: KubeObject[];
  /** The labels of a namespace (the server adds `kubernetes.io/metadata.name`, as real ones do since 1.21). */
  namespaceLabels(name: string): Record<string, string>;
  /** `namespace/name` of a Service reference → the test URL (scheme, host, port) its webhook listens on. */
  serviceUrls: Map<string, string>;
  applyPatch(object: KubeObject, ops: unknown[]): KubeObject;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
}

interface MutatingWebhook {
  name: string;
  clientConfig: { url?: string; caBundle?: string; service?: { namespace: string; name: string; path?: string; port?: number } };
  rules?: RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
}

export async function runMutatingAdmission(attrs: AdmissionAttributes, context: AdmissionContext): Promise<AdmissionResult> {
  let object = attrs.object;
  const configurations = [...context.configurations].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const configuration of configurations) {
    for (const webhook of (configuration['webhooks'] ?? []) as MutatingWebhook[]) {
      if (!appliesTo(webhook, attrs, object, context)) continue;
      let answer: AdmissionResponse;
      try {
        answer = await callWebhook(webhook, { ...attrs, object }, context);
      } catch (err) {
        if (webhook.failurePolicy === 'Ignore') continue;
        return { allowed: false, code: 500, reason: 'InternalError', message: `Internal error occurred: failed calling webhook "${webhook.name}": ${(err as Error).message}` };
      }
      if (!answer.allowed) {
        const status = answer.status ?? {};
        const code = typeof status.code === 'number' && status.code >= 400 ? status.code : 400;
        const explanation = status.message ? `: ${status.message}` : ' without explanation';
        return { allowed: false, code, reason: status.reason ?? 'BadRequest', message: `admission webhook "${webhook.name}" denied the request${explanation}` };
      }
      if (answer.patch) {
        try {
          if (answer.patchType !== 'JSONPatch') throw new Error(`unsupported patch type "${answer.patchType}"`);
          const ops = JSON.parse(Buffer.from(answer.patch, 'base64').toString('utf8')) as unknown;
          if (!Array.isArray(ops)) throw new Error('the patch is not a JSON array');
          object = context.applyPatch(object, ops);
        } catch (err) {
          if (webhook.failurePolicy === 'Ignore') continue;
          return { allowed: false, code: 500, reason: 'InternalError', message: `Internal error occurred: failed calling webhook "${webhook.name}": ${(err as Error).message}` };
        }
      }
    }
  }
  return { allowed: true, object };
}

function appliesTo(webhook: MutatingWebhook, attrs: AdmissionAttributes, object: KubeObject, context: AdmissionContext): boolean {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const ruleMatches = (webhook.rules ?? []).some((rule) => {
    const has = (list: string[] | undefined, value: string) => (list ?? []).includes('*') || (list ?? []).includes(value);
    const resources = rule.resources ?? [];
    const resourceOk = resources.includes('*') || resources.includes('*/*') || resources.includes(resource)
      || (attrs.subresource !== undefined && resources.includes(`${attrs.resource}/*`))
      || (attrs.subresource !== undefined && resources.includes(`*/${attrs.subresource}`));
    const scope = rule.scope ?? '*';
    const scopeOk = scope === '*' || (scope === 'Namespaced') === (attrs.namespace !== undefined);
    return has(rule.operations, attrs.operation) && has(rule.apiGroups, attrs.group) && has(rule.apiVersions, attrs.version) && resourceOk && scopeOk;
  });
  if (!ruleMatches) return false;
  // A namespaceSelector is evaluated against the namespace of a namespaced object (a cluster-scoped one always
  // matches it, except a Namespace itself, whose own labels are used).
  const namespaceName = attrs.resource === 'namespaces' ? object.metadata.name : attrs.namespace;
  if (namespaceName !== undefined && !selects(webhook.namespaceSelector, attrs.resource === 'namespaces' ? object.metadata.labels ?? {} : context.namespaceLabels(namespaceName))) return false;
  return selects(webhook.objectSelector, object.metadata.labels ?? {});
}

/** metav1.LabelSelector: every matchLabels pair and every expression must hold; an empty selector selects all. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, expr.key);
    const value = labels[expr.key];
    const inValues = present && (expr.values ?? []).includes(value!);
    if (expr.operator === 'In' && !inValues) return false;
    if (expr.operator === 'NotIn' && inValues) return false;
    if (expr.operator === 'Exists' && !present) return false;
    if (expr.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; reason?: string; message?: string };
  patch?: string;
  patchType?: string;
}

async function callWebhook(webhook: MutatingWebhook, attrs: AdmissionAttributes, context: AdmissionContext): Promise<AdmissionResponse> {
  const { url, servername } = target(webhook, context);
  const uid = randomUUID();
  const groupVersionKind = { group: attrs.group, version: attrs.version, kind: attrs.kind };
  const groupVersionResource = { group: attrs.group, version: attrs.version, resource: attrs.resource };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid, kind: groupVersionKind, resource: groupVersionResource, requestKind: groupVersionKind, requestResource: groupVersionResource,
      ...(attrs.subresource ? { subResource: attrs.subresource } : {}),
      name: attrs.object.metadata.name ?? '',
      ...(attrs.namespace !== undefined ? { namespace: attrs.namespace } : {}),
      operation: attrs.operation,
      userInfo: { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] },
      object: attrs.object,
      oldObject: attrs.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: attrs.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
    },
  };
  const body = JSON.stringify(review);
  const timeoutMs = (webhook.timeoutSeconds ?? 10) * 1000;
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
      // The caBundle is the only trust: no system roots, as the real server does when one is given.
      ...(webhook.clientConfig.caBundle ? { ca: Buffer.from(webhook.clientConfig.caBundle, 'base64').toString('utf8') } : {}),
      // Node checks the certificate against `servername` when one is set: the Service's DNS name, not 127.0.0.1.
      ...(servername ? { servername } : {}),
      signal: AbortSignal.timeout(timeoutMs),
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) !== 200) reject(new Error(`the server responded with status ${res.statusCode}: ${out.slice(0, 200)}`));
        else resolve(out);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  let parsed: { apiVersion?: string; kind?: string; response?: AdmissionResponse };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new Error('the response is not JSON');
  }
  if (parsed.kind !== 'AdmissionReview' || parsed.apiVersion !== 'admission.k8s.io/v1') throw new Error(`expected response of kind AdmissionReview admission.k8s.io/v1, got ${parsed.kind} ${parsed.apiVersion}`);
  if (!parsed.response) throw new Error('webhook response was absent');
  if (parsed.response.uid !== uid) throw new Error(`expected response.uid="${uid}", got "${parsed.response.uid}"`);
  return parsed.response;
}

function target(webhook: MutatingWebhook, context: AdmissionContext): { url: URL; servername?: string } {
  const config = webhook.clientConfig;
  if (config.url) return { url: new URL(config.url) };
  if (!config.service) throw new Error('clientConfig has neither url nor service');
  const base = context.serviceUrls.get(`${config.service.namespace}/${config.service.name}`);
  if (!base) throw new Error(`service "${config.service.name}" in namespace "${config.service.namespace}" has no test URL`);
  const url = new URL(config.service.path ?? '/', base);
  return { url, servername: `${config.service.name}.${config.service.namespace}.svc` };
}
