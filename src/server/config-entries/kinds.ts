/**
 * The registry of configuration entry kinds (Consul's MakeConfigEntry): each kind's schema, its Normalize and its
 * Validate. A kind is added by adding a row; the decoder, the store and the endpoints know nothing of kinds.
 */
import type { z } from 'zod';
import { defineError } from '../../lib/errors.ts';
import {
  IngressGatewaySchema, MeshSchema, ProxyDefaultsSchema, ServiceDefaultsSchema, ServiceIntentionsSchema, ServiceResolverSchema,
  ServiceRouterSchema, ServiceSplitterSchema, TerminatingGatewaySchema,
} from './schemas.ts';
import {
  normalizeIngress, normalizeIntentions, normalizeMesh, normalizeProxyDefaults, normalizeRouter, normalizeServiceDefaults,
  normalizeSplitter, validateEnterpriseMeta, validateIngress, validateIntentions, validateMesh, validateProxyDefaults,
  validateResolver, validateRouter, validateServiceDefaults, validateSplitter, validateTerminating,
} from './validate.ts';

export const ErrUnknownKind = defineError('MG_CONFIG_ENTRY_KIND', 400, (kind: string) => `invalid config entry kind: ${kind}`);

/** A decoded entry: Consul's PascalCase fields, Kind and Name always set after normalizing. */
export type ConfigEntry = Record<string, unknown> & { Kind: string; Name: string };

interface KindSpec {
  // Each schema has its own output type; the registry sees them as plain records.
  readonly schema: z.ZodType;
  readonly normalize?: (entry: never) => void;
  readonly validate: (entry: never) => void;
}

export const KINDS: Readonly<Record<string, KindSpec>> = {
  'service-defaults': { schema: ServiceDefaultsSchema, normalize: normalizeServiceDefaults, validate: validateServiceDefaults },
  'proxy-defaults': { schema: ProxyDefaultsSchema, normalize: normalizeProxyDefaults, validate: validateProxyDefaults },
  mesh: { schema: MeshSchema, normalize: normalizeMesh, validate: validateMesh },
  'service-router': { schema: ServiceRouterSchema, normalize: normalizeRouter, validate: validateRouter },
  'service-splitter': { schema: ServiceSplitterSchema, normalize: normalizeSplitter, validate: validateSplitter },
  'service-resolver': { schema: ServiceResolverSchema, validate: validateResolver },
  'service-intentions': { schema: ServiceIntentionsSchema, normalize: normalizeIntentions, validate: validateIntentions },
  'ingress-gateway': { schema: IngressGatewaySchema, normalize: normalizeIngress, validate: validateIngress },
  'terminating-gateway': { schema: TerminatingGatewaySchema, validate: validateTerminating },
};

export function kindSpec(kind: string): KindSpec {
  const spec = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (!spec) throw ErrUnknownKind(kind);
  return spec;
}

/** Normalize then Validate (ConfigEntry.Apply's order); returns the entry as it will be stored. */
export function normalizeAndValidate(kind: string, entry: Record<string, unknown>): ConfigEntry {
  const spec = kindSpec(kind);
  entry.Kind = kind;
  spec.normalize?.(entry as never);
  validateEnterpriseMeta(entry as { Namespace?: string; Partition?: string });
  spec.validate(entry as never);
  entry.Name ??= '';
  return entry as ConfigEntry;
}
