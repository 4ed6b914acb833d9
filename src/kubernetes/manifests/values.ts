/**
 * The values `meshgate k8s manifests --values FILE` and the Helm chart take, shaped like consul-k8s's Helm values
 * (charts/consul/values.yaml: `global.name`, `global.image`, `global.acls.manageSystemACLs`, `server.replicas`,
 * `connectInject.*`, `syncCatalog.*`, `ui.*`) for the keys Meshgate has, plus `server.store` for the state store
 * several server replicas share. Every object is strict: an unknown key is an error naming its path, so a typo never
 * silently falls back to a default. The same schema's defaults become the chart's `values.yaml`.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { defineError } from '../../lib/errors.ts';

export const ManifestValuesInvalid = defineError('MG_K8S_VALUES_INVALID', 400, (problems: string) => `invalid values: ${problems}`);

const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a DNS label: lower-case letters, digits and "-"').max(40);
const image = z.string().min(1).regex(/^\S+$/, 'expected an image reference without spaces');
const namespaces = z.array(z.string().min(1));

const ServerValues = z.strictObject({
  enabled: z.boolean().default(true),
  replicas: z.number().int().min(1).max(7).default(1),
  /** Size of each replica's data volume (SQLite lives there). */
  storage: z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/, 'expected a Kubernetes quantity such as 10Gi').default('10Gi'),
  store: z.strictObject({
    backend: z.enum(['sqlite', 'etcd']).default('sqlite'),
    etcdEndpoints: z.string().default(''),
  }).prefault({}),
});

export const ValuesSchema = z.strictObject({
  global: z.strictObject({
    name: name.default('meshgate'),
    image: image.default('meshgate:0.1.0'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    datacenter: name.default('dc1'),
    domain: name.default('consul'),
    acls: z.strictObject({ manageSystemACLs: z.boolean().default(false) }).prefault({}),
  }).prefault({}),
  server: ServerValues.prefault({}),
  ui: z.strictObject({
    enabled: z.boolean().default(true),
    service: z.strictObject({ type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP') }).prefault({}),
  }).prefault({}),
  connectInject: z.strictObject({
    enabled: z.boolean().default(true),
    replicas: z.number().int().min(1).default(1),
    /** Inject every pod unless annotated `connect-inject: "false"` (consul-k8s's `connectInject.default`). */
    default: z.boolean().default(false),
    transparentProxy: z.strictObject({ defaultEnabled: z.boolean().default(true), defaultOverwriteProbes: z.boolean().default(true) }).prefault({}),
    k8sAllowNamespaces: namespaces.default(['*']),
    k8sDenyNamespaces: namespaces.default([]),
    /**
     * The webhook's failurePolicy (consul-k8s's `connectInject.failurePolicy`, "Fail" by default): with Fail a pod
     * is not created while no injector answers, rather than started outside the mesh; Meshgate's own pods are
     * exempt (objectSelector), so the injector itself can always start.
     */
    failurePolicy: z.enum(['Fail', 'Ignore']).default('Fail'),
  }).prefault({}),
  syncCatalog: z.strictObject({
    enabled: z.boolean().default(false),
    default: z.boolean().default(true),
    toConsul: z.boolean().default(true),
    toK8S: z.boolean().default(true),
    consulPrefix: z.string().default(''),
    k8sTag: z.string().default('k8s'),
    k8sAllowNamespaces: namespaces.default(['*']),
    k8sDenyNamespaces: namespaces.default(['kube-system', 'kube-public']),
    addK8SNamespaceSuffix: z.boolean().default(true),
    nodePortSyncType: z.enum(['ExternalOnly', 'InternalOnly', 'ExternalFirst']).default('ExternalFirst'),
    syncClusterIPServices: z.boolean().default(true),
    consulNodeName: z.string().min(1).default('k8s-sync'),
  }).prefault({}),
}).superRefine((values, ctx) => {
  // SQLite is one file on one replica's volume: several servers must share etcd.
  if (values.server.replicas > 1 && values.server.store.backend !== 'etcd') {
    ctx.addIssue({ code: 'custom', path: ['server', 'replicas'], message: 'more than one server replica needs server.store.backend: etcd' });
  }
  if (values.server.store.backend === 'etcd' && !values.server.store.etcdEndpoints) {
    ctx.addIssue({ code: 'custom', path: ['server', 'store', 'etcdEndpoints'], message: 'required with server.store.backend: etcd' });
  }
});

export type Values = z.infer<typeof ValuesSchema>;

/** Validates already-parsed values; every problem is named by its dotted path. */
export function validateValues(input: unknown): Values {
  const result = ValuesSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `unknown key: ${path ? `${path}.` : ''}${k}`).join('; ');
    return `${path || '(root)'}: ${issue.message}`;
  });
  throw ManifestValuesInvalid(problems.join('; '));
}

/** Parses a values file's text (YAML, so JSON too). */
export function parseValues(text: string): Values {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw ManifestValuesInvalid(`not YAML: ${(err as Error).message}`);
  }
  return validateValues(parsed);
}
