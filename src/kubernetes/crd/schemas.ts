/**
 * OpenAPI v3 structural schemas of the consul-k8s resources' `spec`, with consul-k8s's field names (read from
 * control-plane/api/v1alpha1/*_types.go and the chart's crd-*.yaml; written here, not copied). A real API server
 * prunes every field a structural schema does not name, so a field missing here would silently never reach the
 * controller: each field `crd/convert.ts` turns into a configuration entry is listed. Free-form data (proxy
 * `config`, Envoy extension `arguments`) keeps unknown fields, as consul-k8s's schema does.
 */

export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema;
  items?: JsonSchema;
  required?: string[];
  'x-kubernetes-preserve-unknown-fields'?: true;
}

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const bool: JsonSchema = { type: 'boolean' };
/** A Go `metav1.Duration` ("10s", "1m30s"). */
const duration: JsonSchema = { type: 'string' };
const obj = (properties: Record<string, JsonSchema>, description?: string): JsonSchema => ({ type: 'object', properties, ...(description ? { description } : {}) });
const arr = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
const mapOf = (values: JsonSchema): JsonSchema => ({ type: 'object', additionalProperties: values });
const free: JsonSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const strings = arr(str);

const meshGateway = obj({ mode: str });
const headerModifiers = obj({ add: mapOf(str), set: mapOf(str), remove: strings });
const exposeSchema = obj({
  checks: bool,
  paths: arr(obj({ listenerPort: int, localPathPort: int, path: str, protocol: str })),
});
const transparentProxy = obj({ outboundListenerPort: int, dialedDirectly: bool });
const envoyExtensions = arr(obj({ name: str, required: bool, arguments: free }));
const headerMatch = obj({ name: str, present: bool, exact: str, prefix: str, suffix: str, regex: str, invert: bool });

const upstream = obj({
  name: str, namespace: str, partition: str, peer: str,
  envoyListenerJSON: str, envoyClusterJSON: str, protocol: str, connectTimeoutMs: int,
  limits: obj({ maxConnections: int, maxPendingRequests: int, maxConcurrentRequests: int }),
  passiveHealthCheck: obj({ interval: duration, maxFailures: int, enforcing_consecutive_5xx: int, maxEjectionPercent: int, baseEjectionTime: duration }),
  meshGateway,
});

const serviceDefaults = obj({
  protocol: str,
  mode: str,
  transparentProxy,
  mutualTLSMode: str,
  meshGateway,
  expose: exposeSchema,
  upstreamConfig: obj({ defaults: upstream, overrides: arr(upstream) }),
  externalSNI: str,
  localConnectTimeoutMs: int,
  localRequestTimeoutMs: int,
  maxInboundConnections: int,
  balanceInboundConnections: str,
  destination: obj({ addresses: strings, port: int }),
  envoyExtensions,
}, 'ServiceDefaultsSpec: the service-defaults configuration entry of the service named like the resource.');

const intentionPermission = obj({
  action: str,
  http: obj({ pathExact: str, pathPrefix: str, pathRegex: str, methods: strings, header: arr(headerMatch) }),
});
const serviceIntentions = obj({
  destination: obj({ name: str, namespace: str }),
  sources: arr(obj({
    name: str, namespace: str, partition: str, peer: str, samenessGroup: str,
    action: str, description: str, permissions: arr(intentionPermission),
  })),
}, 'ServiceIntentionsSpec: the service-intentions configuration entry of spec.destination.name.');

const serviceRouter = obj({
  routes: arr(obj({
    match: obj({
      http: obj({
        pathExact: str, pathPrefix: str, pathRegex: str, methods: strings,
        header: arr(headerMatch),
        queryParam: arr(obj({ name: str, present: bool, exact: str, regex: str })),
      }),
    }),
    destination: obj({
      service: str, serviceSubset: str, namespace: str, partition: str, prefixRewrite: str,
      idleTimeout: duration, requestTimeout: duration, numRetries: int, retryOnConnectFailure: bool,
      retryOnStatusCodes: arr(int), requestHeaders: headerModifiers, responseHeaders: headerModifiers,
    }),
  })),
}, 'ServiceRouterSpec: the service-router configuration entry of the service named like the resource.');

const serviceSplitter = obj({
  splits: arr(obj({
    weight: { type: 'number' }, service: str, serviceSubset: str, namespace: str, partition: str,
    requestHeaders: headerModifiers, responseHeaders: headerModifiers,
  })),
}, 'ServiceSplitterSpec: the service-splitter configuration entry; the weights add up to 100.');

const failoverTarget = obj({ service: str, serviceSubset: str, partition: str, namespace: str, datacenter: str, peer: str });
const serviceResolver = obj({
  defaultSubset: str,
  subsets: mapOf(obj({ filter: str, onlyPassing: bool })),
  redirect: obj({ service: str, serviceSubset: str, namespace: str, partition: str, datacenter: str, peer: str, samenessGroup: str }),
  failover: mapOf(obj({
    service: str, serviceSubset: str, namespace: str, datacenters: strings, targets: arr(failoverTarget),
    policy: obj({ mode: str, regions: strings }), samenessGroup: str,
  })),
  connectTimeout: duration,
  requestTimeout: duration,
  loadBalancer: obj({
    policy: str,
    ringHashConfig: obj({ minimumRingSize: int, maximumRingSize: int }),
    leastRequestConfig: obj({ choiceCount: int }),
    hashPolicies: arr(obj({ field: str, fieldValue: str, cookieConfig: obj({ session: bool, ttl: duration, path: str }), sourceIP: bool, terminal: bool })),
  }),
}, 'ServiceResolverSpec: the service-resolver configuration entry of the service named like the resource.');

const proxyDefaults = obj({
  mode: str,
  transparentProxy,
  mutualTLSMode: str,
  config: { ...free, description: 'Arbitrary proxy configuration, passed to the proxies as written.' },
  meshGateway,
  expose: exposeSchema,
  accessLogs: obj({ enabled: bool, disableListenerLogs: bool, type: str, path: str, jsonFormat: str, textFormat: str }),
  envoyExtensions,
}, 'ProxyDefaultsSpec: the global proxy-defaults configuration entry (the resource must be named "global").');

/** The `status` consul-k8s writes: a `Synced` condition and the time of the last successful sync. */
export const STATUS_SCHEMA: JsonSchema = obj({
  conditions: arr({
    ...obj({ type: str, status: str, reason: str, message: str, lastTransitionTime: { type: 'string', format: 'date-time' } }),
    required: ['status', 'type'],
  }),
  lastSyncedTime: { type: 'string', format: 'date-time' },
});

export const SPEC_SCHEMAS = {
  ServiceDefaults: serviceDefaults,
  ServiceIntentions: serviceIntentions,
  ServiceRouter: serviceRouter,
  ServiceSplitter: serviceSplitter,
  ServiceResolver: serviceResolver,
  ProxyDefaults: proxyDefaults,
} as const satisfies Record<string, JsonSchema>;

export type CrdKindName = keyof typeof SPEC_SCHEMAS;
