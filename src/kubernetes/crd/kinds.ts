/**
 * The consul-k8s CRDs Meshgate reconciles (`consul.hashicorp.com/v1alpha1`, so existing manifests apply
 * unchanged) and how each becomes a configuration entry: its Consul kind and the entry's name — the resource's own
 * name, except ServiceIntentions (named by `spec.destination.name`) and ProxyDefaults (always `global`). The CRD
 * definitions that `meshgate k8s manifests` and the Helm chart install are built from this same list
 * (`definitions.ts`), so the controller and the installed schemas cannot disagree on a kind.
 */
import { SPEC_SCHEMAS, type CrdKindName, type JsonSchema } from './schemas.ts';

export const CRD_GROUP = 'consul.hashicorp.com';
export const CRD_VERSION = 'v1alpha1';

export interface CrdKind {
  /** Plural resource name, as in the API path. */
  readonly plural: string;
  readonly kind: CrdKindName;
  /** consul-k8s's short name (`kubectl get service-defaults`). */
  readonly shortName: string;
  /** The OpenAPI v3 schema of `spec`, which the CRD definition carries (see `definitions.ts`). */
  readonly spec: JsonSchema;
  /** The configuration entry kind. */
  readonly entryKind: string;
  entryName(object: { metadata?: { name?: string }; spec?: Record<string, unknown> }): string;
}

const own = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? '';

export const CRD_KINDS: readonly CrdKind[] = [
  { plural: 'servicedefaults', kind: 'ServiceDefaults', shortName: 'service-defaults', spec: SPEC_SCHEMAS.ServiceDefaults, entryKind: 'service-defaults', entryName: own },
  { plural: 'serviceresolvers', kind: 'ServiceResolver', shortName: 'service-resolver', spec: SPEC_SCHEMAS.ServiceResolver, entryKind: 'service-resolver', entryName: own },
  { plural: 'servicerouters', kind: 'ServiceRouter', shortName: 'service-router', spec: SPEC_SCHEMAS.ServiceRouter, entryKind: 'service-router', entryName: own },
  { plural: 'servicesplitters', kind: 'ServiceSplitter', shortName: 'service-splitter', spec: SPEC_SCHEMAS.ServiceSplitter, entryKind: 'service-splitter', entryName: own },
  { plural: 'proxydefaults', kind: 'ProxyDefaults', shortName: 'proxy-defaults', spec: SPEC_SCHEMAS.ProxyDefaults, entryKind: 'proxy-defaults', entryName: () => 'global' },
  {
    plural: 'serviceintentions', kind: 'ServiceIntentions', shortName: 'service-intentions', spec: SPEC_SCHEMAS.ServiceIntentions, entryKind: 'service-intentions',
    entryName: (o) => {
      const name = (o.spec?.['destination'] as { name?: unknown } | undefined)?.name;
      return typeof name === 'string' ? name : '';
    },
  },
];
