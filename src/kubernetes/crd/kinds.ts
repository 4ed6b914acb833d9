/**
 * The consul-k8s CRDs Meshgate reconciles (`consul.hashicorp.com/v1alpha1`, so existing manifests apply
 * unchanged) and how each becomes a configuration entry: its Consul kind and the entry's name — the resource's own
 * name, except ServiceIntentions (named by `spec.destination.name`) and ProxyDefaults (always `global`).
 */
export const CRD_GROUP = 'consul.hashicorp.com';
export const CRD_VERSION = 'v1alpha1';

export interface CrdKind {
  /** Plural resource name, as in the API path. */
  readonly plural: string;
  readonly kind: string;
  /** The configuration entry kind. */
  readonly entryKind: string;
  entryName(object: { metadata?: { name?: string }; spec?: Record<string, unknown> }): string;
}

const own = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';

export const CRD_KINDS: readonly CrdKind[] = [
  { plural: 'servicedefaults', kind: 'ServiceDefaults', entryKind: 'service-defaults', entryName: own },
  { plural: 'serviceresolvers', kind: 'ServiceResolver', entryKind: 'service-resolver', entryName: own },
  { plural: 'servicerouters', kind: 'ServiceRouter', entryKind: 'service-router', entryName: own },
  { plural: 'servicesplitters', kind: 'ServiceSplitter', entryKind: 'service-splitter', entryName: own },
  { plural: 'proxydefaults', kind: 'ProxyDefaults', entryKind: 'proxy-defaults', entryName: () => 'global' },
  {
    plural: 'serviceintentions', kind: 'ServiceIntentions', entryKind: 'service-intentions',
    entryName: (o) => {
      const name = (o.spec?.['destination'] as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? name : '';
    },
  },
];
