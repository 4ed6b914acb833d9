/**
 * The agent configuration file's keys that Meshgate reads, in Consul's spelling and types (agent/config/config.go;
 * the "Agents configuration file reference"): every block is a strict object, so a key not listed here is reported
 * (see unsupported.ts for the difference between "not supported" and "unknown"). Durations stay Go duration strings
 * as in the file (`token_ttl = "30s"`); they are checked here and converted by whoever uses them.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.ts';

const goDuration = z.string().refine((text) => {
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}, { message: 'expected a Go duration such as "30s"' });

/** A port as Consul's `ports` block takes it: -1 turns the listener off, 0 lets the system pick (tests). */
const port = z.number().int().min(-1).max(65535);

/** One address (Consul also takes space-separated lists and go-sockaddr templates; Meshgate binds one address). */
const address = z.string().min(1).refine((text) => !/\s|\{\{/.test(text), { message: 'expected one IP address (lists and go-sockaddr templates are not supported by meshgate)' });

/** tls.defaults and tls.https take the same keys; https's values win over defaults' (Consul's TLS stanza). */
const TlsBlock = z.strictObject({
  ca_file: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  verify_incoming: z.boolean().optional(),
  verify_outgoing: z.boolean().optional(),
  tls_min_version: z.enum(['TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3']).optional(),
});

/** Service and check definitions belong to the agent that registers them; their keys are checked there. */
const Definition = z.record(z.string(), z.unknown());

export const AgentConfigFileSchema = z.strictObject({
  datacenter: z.string().min(1).optional(),
  node_name: z.string().min(1).optional(),
  data_dir: z.string().min(1).optional(),
  server: z.boolean().optional(),
  bootstrap_expect: z.number().int().min(0).optional(),
  bind_addr: address.optional(),
  client_addr: address.optional(),
  addresses: z.strictObject({
    http: address.optional(),
    https: address.optional(),
    dns: address.optional(),
    grpc: address.optional(),
  }).optional(),
  ports: z.strictObject({
    http: port.optional(),
    https: port.optional(),
    dns: port.optional(),
    grpc: port.optional(),
    sidecar_min_port: port.optional(),
    sidecar_max_port: port.optional(),
  }).optional(),
  domain: z.string().min(1).optional(),
  log_level: z.string().regex(/^(trace|debug|info|warn|err|error)$/i, 'expected one of trace, debug, info, warn, err').optional(),
  acl: z.strictObject({
    enabled: z.boolean().optional(),
    default_policy: z.enum(['allow', 'deny']).optional(),
    down_policy: z.enum(['allow', 'deny', 'extend-cache', 'async-cache']).optional(),
    enable_token_persistence: z.boolean().optional(),
    token_ttl: goDuration.optional(),
    tokens: z.strictObject({
      initial_management: z.string().min(1).optional(),
      agent: z.string().min(1).optional(),
      default: z.string().min(1).optional(),
      dns: z.string().min(1).optional(),
    }).optional(),
  }).optional(),
  connect: z.strictObject({
    enabled: z.boolean().optional(),
    ca_provider: z.literal('consul', { message: 'only the built-in "consul" CA provider is supported by meshgate' }).optional(),
    // Consul's ca_config is a map whose keys depend on the provider (leaf_cert_ttl, private_key_type, …); the CA
    // validates them when it applies the configuration, as Consul's provider does.
    ca_config: z.record(z.string(), z.unknown()).optional(),
  }).optional(),
  tls: z.strictObject({
    defaults: TlsBlock.optional(),
    https: TlsBlock.optional(),
  }).optional(),
  ui_config: z.strictObject({
    enabled: z.boolean().optional(),
    content_path: z.string().min(1).optional(),
  }).optional(),
  limits: z.strictObject({
    http_max_conns_per_client: z.number().int().min(0).optional(),
    https_handshake_timeout: goDuration.optional(),
  }).optional(),
  service: Definition.optional(),
  services: z.array(Definition).optional(),
  check: Definition.optional(),
  checks: z.array(Definition).optional(),
  retry_join: z.array(z.string().min(1)).optional(),
});

/** One file's content, and the merged configuration of all files (same shape: merging keeps Consul's types). */
export type AgentConfig = z.infer<typeof AgentConfigFileSchema>;
export type TlsConfigBlock = z.infer<typeof TlsBlock>;

/**
 * Keys whose value is a map keyed by the user: a later file's non-empty map replaces an earlier one whole, as
 * Consul's Merge does for Go maps (struct blocks merge key by key; lists append).
 */
export const MAP_KEYS: ReadonlySet<string> = new Set(['connect.ca_config']);
