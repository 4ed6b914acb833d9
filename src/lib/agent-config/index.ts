/** Consul's agent configuration file, shared by `meshgate server`, `meshgate agent` and `meshgate validate`. */
export { AGENT_CONFIG_INVALID, AgentConfigError } from './errors.ts';
export { checkAgentConfig, loadAgentConfig, type LoadedAgentConfig } from './load.ts';
export { mergeConfigs } from './merge.ts';
export { type ReadOptions } from './parse.ts';
export { readConfigDocuments, type ConfigDocument, type ReadDocuments } from './read.ts';
export { AgentConfigFileSchema, type AgentConfig, type TlsConfigBlock } from './schema.ts';
export { formatOf, listSources, type ConfigFormat, type ConfigSource } from './sources.ts';
export { resolveHttpsTls, type ResolvedTls } from './tls.ts';
