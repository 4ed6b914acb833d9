/**
 * Errors of the gateway's control plane. Every message names the file and the key path it is about, so an operator
 * can fix a configuration from the log line alone.
 */
import { defineError } from '../../lib/errors.ts';

export const ConfigErrors = {
  /** The file is not valid YAML / TOML / JSON at all. */
  parse: defineError('MG_GATEWAY_CONFIG_PARSE', 400, (file: string, detail: string) => `${file}: cannot parse: ${detail}`),
  /** The file parsed but breaks the schema; `detail` lists `key.path: problem` entries. */
  invalid: defineError('MG_GATEWAY_CONFIG_INVALID', 400, (file: string, detail: string) => `${file}: ${detail}`),
  /** The file (or directory) cannot be read. */
  read: defineError('MG_GATEWAY_CONFIG_READ', 400, (file: string, detail: string) => `${file}: cannot read: ${detail}`),
  /** A dynamic configuration is larger than a limit of the static configuration; `limit` is that key. */
  limit: defineError('MG_GATEWAY_CONFIG_LIMIT', 413, (source: string, what: string, limit: string, max: number) => `${source}: ${what} exceeds ${limit} (${max}); the running configuration keeps serving`),
  /** An override (CLI flag) has no place in the static configuration. */
  override: defineError('MG_GATEWAY_CONFIG_OVERRIDE', 400, (flag: string, detail: string) => `--${flag}: ${detail}`),
} as const;
