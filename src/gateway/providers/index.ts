/**
 * Loads every provider module so each registers its factory (grpc-js's registerResolver shape): the file provider
 * (`providers.file`), the Consul catalog provider (`providers.consulCatalog`), the KV providers (`providers.consul`,
 * `providers.etcd`, `providers.redis`; their store clients load only when configured) and `providers.http`.
 */
import './file.ts';
import './consulcatalog.ts';
import './kv.ts';
import './http-provider.ts';

export { createProviders, registerProvider, type Provider, type ProviderContext, type ProviderFactory } from './provider.ts';
export { ProviderAggregator } from './aggregator.ts';
export { FileProvider } from './file.ts';
