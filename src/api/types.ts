/**
 * Consul HTTP API wire types, with Consul's exact PascalCase field names (from hashicorp/consul api/*.go and
 * agent/structs). The server encodes these, the client decodes them; nothing here carries behaviour.
 */
export * from './types/common.ts';
export * from './types/agent.ts';
export * from './types/catalog.ts';
export * from './types/health.ts';
export * from './types/kv.ts';
export * from './types/txn.ts';
export * from './types/session.ts';
export * from './types/status.ts';
export * from './types/config.ts';
export * from './types/connect-ca.ts';
export * from './types/acl.ts';
