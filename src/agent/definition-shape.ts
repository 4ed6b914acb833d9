/**
 * Consul's configuration spelling turned into the agent API's: files say `name`, `enable_tag_override`,
 * `check { http interval }`, `connect { sidecar_service { proxy { upstreams = [...] } } }`; the API and the catalog
 * want `Name`, `EnableTagOverride`, `Check: {HTTP, Interval}`. HCL decoded by hcl2json also wraps every block in a
 * list (`meta { a = "1" }` → `meta: [{a: "1"}]`), which is undone here for the blocks that are single objects.
 * Maps keyed by the user (`meta`, `header`, proxy `config`) are copied untouched: their keys are data, not fields.
 */

/** Words Consul's Go field names spell in capitals. */
const ACRONYMS: Record<string, string> = {
  id: 'ID', ttl: 'TTL', http: 'HTTP', tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', tls: 'TLS', h2ping: 'H2PING', dns: 'DNS', sni: 'SNI', acl: 'ACL',
};
/** Field names that do not follow from their words. */
const SPECIAL: Record<string, string> = { args: 'ScriptArgs', script_args: 'ScriptArgs', h2ping_use_tls: 'H2PingUseTLS' };
/** Values that are maps keyed by the user: copied as they are (after undoing HCL's block list). */
const OPAQUE = new Set(['Meta', 'NodeMeta', 'Header', 'Config']);
/** Values that are maps keyed by the user with structured values. */
const KEYED = new Set(['TaggedAddresses']);
/** Blocks that hold one object; HCL's `[{…}]` is unwrapped for them. */
const SINGLE = new Set(['Meta', 'NodeMeta', 'Header', 'Config', 'TaggedAddresses', 'Weights', 'Connect', 'SidecarService', 'Proxy',
  'TransparentProxy', 'MeshGateway', 'Expose', 'Wait']);

export function apiFieldName(key: string): string {
  if (SPECIAL[key]) return SPECIAL[key];
  if (/^[A-Z]/.test(key)) return key;
  return key.split('_').map((word) => ACRONYMS[word.toLowerCase()] ?? (word.charAt(0).toUpperCase() + word.slice(1))).join('');
}

/** One block as an object: HCL's single-element list unwrapped, several blocks merged in order. */
export function singleBlock(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) return Object.assign({}, ...value);
  return value;
}

/** A value that may be one block or several (`check`, `service`, `template`): always a list. */
export function blockList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

export function toApiShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toApiShape);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    const name = apiFieldName(key);
    const v = SINGLE.has(name) ? singleBlock(raw) : raw;
    if (OPAQUE.has(name)) out[name] = v;
    else if (KEYED.has(name) && v && typeof v === 'object') {
      out[name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, inner]) => [k, toApiShape(singleBlock(inner))]));
    } else out[name] = toApiShape(v);
  }
  return out;
}
