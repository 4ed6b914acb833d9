/**
 * The element types of Consul's filterable listings, as FilterFields, so an endpoint validates selectors the way
 * Consul does against its Go struct (agent/structs: Node, NodeService, ServiceNode, HealthCheck, CheckServiceNode).
 * Fields Consul tags `bexpr:"-"` (proxy Config maps, RaftIndex internals) are left out, which makes them invalid
 * selectors exactly as in Consul.
 */
import type { FilterFields, FilterType } from './types.ts';

const stringMap: FilterType = { map: 'string' };
const strings: FilterType = { list: 'string' };

const ServiceAddress: FilterType = { struct: { Address: 'string', Port: 'int' } };
const Weights: FilterType = { struct: { Passing: 'int', Warning: 'int' } };
const MeshGatewayConfig: FilterType = { struct: { Mode: 'string' } };

const Upstream: FilterType = {
  struct: {
    DestinationType: 'string',
    DestinationNamespace: 'string',
    DestinationPartition: 'string',
    DestinationPeer: 'string',
    DestinationName: 'string',
    Datacenter: 'string',
    LocalBindAddress: 'string',
    LocalBindPort: 'int',
    LocalBindSocketPath: 'string',
    LocalBindSocketMode: 'string',
    MeshGateway: MeshGatewayConfig,
  },
};

const ConnectProxyConfig: FilterType = {
  struct: {
    DestinationServiceName: 'string',
    DestinationServiceID: 'string',
    LocalServiceAddress: 'string',
    LocalServicePort: 'int',
    LocalServiceSocketPath: 'string',
    Mode: 'string',
    Upstreams: { list: Upstream },
    MeshGateway: MeshGatewayConfig,
    Expose: {
      struct: {
        Checks: 'bool',
        Paths: { list: { struct: { ListenerPort: 'int', Path: 'string', LocalPathPort: 'int', Protocol: 'string', ParsedFromCheck: 'bool' } } },
      },
    },
    TransparentProxy: { struct: { OutboundListenerPort: 'int', DialedDirectly: 'bool' } },
  },
};

const ServiceConnect: FilterType = { struct: { Native: 'bool' } };

/** structs.Node — /v1/catalog/nodes. */
export const NodeFields: FilterFields = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  Partition: 'string',
  PeerName: 'string',
  TaggedAddresses: stringMap,
  Meta: stringMap,
};

/** structs.NodeService — /v1/agent/services, /v1/catalog/node-services/:node, the Service of a health entry. */
export const NodeServiceFields: FilterFields = {
  Kind: 'string',
  ID: 'string',
  Service: 'string',
  Tags: strings,
  Address: 'string',
  TaggedAddresses: { map: ServiceAddress },
  Meta: stringMap,
  Port: 'int',
  SocketPath: 'string',
  Weights,
  EnableTagOverride: 'bool',
  Proxy: ConnectProxyConfig,
  Connect: ServiceConnect,
  PeerName: 'string',
  Namespace: 'string',
  Partition: 'string',
};

/** structs.ServiceNode — /v1/catalog/service/:service. */
export const ServiceNodeFields: FilterFields = {
  ID: 'string',
  Node: 'string',
  Address: 'string',
  Datacenter: 'string',
  TaggedAddresses: stringMap,
  NodeMeta: stringMap,
  ServiceKind: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  ServiceTags: strings,
  ServiceAddress: 'string',
  ServiceTaggedAddresses: { map: ServiceAddress },
  ServiceWeights: Weights,
  ServiceMeta: stringMap,
  ServicePort: 'int',
  ServiceSocketPath: 'string',
  ServiceEnableTagOverride: 'bool',
  ServiceProxy: ConnectProxyConfig,
  ServiceConnect,
  PeerName: 'string',
  Namespace: 'string',
  Partition: 'string',
};

/** structs.HealthCheck — /v1/health/checks/:service, /v1/health/node/:node, /v1/health/state/:state. */
export const HealthCheckFields: FilterFields = {
  Node: 'string',
  CheckID: 'string',
  Name: 'string',
  Status: 'string',
  Notes: 'string',
  Output: 'string',
  ServiceID: 'string',
  ServiceName: 'string',
  ServiceTags: strings,
  Type: 'string',
  ExposedPort: 'int',
  PeerName: 'string',
  Namespace: 'string',
  Partition: 'string',
};

/** structs.CheckServiceNode — /v1/health/service/:service (and /v1/health/connect/:service). */
export const CheckServiceNodeFields: FilterFields = {
  Node: { struct: NodeFields },
  Service: { struct: NodeServiceFields },
  Checks: { list: { struct: HealthCheckFields } },
};
