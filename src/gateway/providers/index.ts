/**
 * Loads every provider module so each registers its factory (grpc-js's registerResolver shape). The Consul catalog
 * provider plugs in by adding its import here: `import './consul-catalog.ts';` with
 * `registerProvider('consulCatalog', ({ staticConfig, logger }) => new ConsulCatalogProvider(...))`.
 */
import './file.ts';

export { createProviders, registerProvider, type Provider, type ProviderContext, type ProviderFactory } from './provider.ts';
export { ProviderAggregator } from './aggregator.ts';
export { FileProvider } from './file.ts';
