/** The services part's public surface for the control plane. */
export { buildServiceHandler, type BuiltService, type ServiceBuildContext, type ServerStatus } from './build.ts';
export { TransportRegistry, ServersTransport, DEFAULT_TRANSPORT } from './transport.ts';
export { HealthRegistry, healthOf, type ServiceHealth } from './health.ts';
export { createProxy, type ProxyOptions } from './proxy.ts';
export * from './schema.ts';
export { registerServiceKind, getServiceKind, listServiceKinds, type ServiceKindBuilder } from './registry.ts';
