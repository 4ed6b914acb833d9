/**
 * The TLS settings one interface uses: its own block's values over `tls.defaults` (Consul's TLS stanza, where
 * `tls { defaults { … } https { … } }` lets the HTTPS interface override any default), with Consul's default
 * minimum version TLSv1_2, spelled as Node's `tls` module wants it.
 */
import type { AgentConfig, TlsConfigBlock } from './schema.ts';

export interface ResolvedTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;
  /** Node's spelling ('TLSv1.2'). */
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

const MIN_VERSION = { TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' } as const;

export function resolveHttpsTls(config: AgentConfig): ResolvedTls {
  const block: TlsConfigBlock = { ...config.tls?.defaults, ...config.tls?.https };
  return {
    ...(block.ca_file ? { caFile: block.ca_file } : {}),
    ...(block.cert_file ? { certFile: block.cert_file } : {}),
    ...(block.key_file ? { keyFile: block.key_file } : {}),
    verifyIncoming: block.verify_incoming ?? false,
    verifyOutgoing: block.verify_outgoing ?? false,
    minVersion: MIN_VERSION[block.tls_min_version ?? 'TLSv1_2'],
  };
}
