/**
 * Loads every provider module so each registers its factory (grpc-js's registerResolver shape): the file provider
 * (`providers.file`) and the Consul catalog provider (`providers.consulCatalog`).
 */
import './file.ts';
import './consulcatalog.ts';

export { createProviders, registerProvider, type Provider, type ProviderContext, type ProviderFactory } from './provider.ts';
export { ProviderAggregator } from './aggregator.ts';
export { FileProvider } from './file.ts';
