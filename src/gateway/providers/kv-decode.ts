/**
 * Traefik's KV layout (pkg/config/kv: DecodeToNode + paerser Fill) read into the dynamic configuration: every key
 * under `<rootKey>/` is a path, `traefik/http/routers/web/rule` → `http.routers.web.rule`; a numeric segment is a list
 * index (`…/entrypoints/0`, `…/servers/0/url`); segments match without regard to case and the first spelling seen
 * names a map entry. Only the four sections of a dynamic configuration (`http`, `tcp`, `udp`, `tls`) are read, as
 * Traefik filters on the Configuration's fields; other keys under the root are left alone. Values stay text here:
 * `validateDynamicConfig` reads numbers, booleans and `true`-for-a-section from text as paerser does, and rejects
 * the whole document naming the bad key — so a bad key never produces a partial configuration.
 */
import { defineError } from '../../lib/errors.ts';
import { emptyDynamicConfig, validateDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';

export const KvKeyError = defineError('MG_GATEWAY_KV_KEY', 400, (source: string, key: string, message: string) => `${source}: key "${key}": ${message}`);

const SECTIONS = new Set(['http', 'tcp', 'udp', 'tls']);
const INDEX = /^\d+$/;

interface KvNode {
  /** The full key that first created this node, for error messages. */
  key: string;
  value: string | undefined;
  /** Lower-cased segment → [segment as first written, node]. */
  children: Map<string, [string, KvNode]>;
}

const newNode = (key: string): KvNode => ({ key, value: undefined, children: new Map() });

/**
 * Decodes the pairs listed under `rootKey` (keys as stored, with the root; values as UTF-8 text) and validates the
 * result. Throws MG_GATEWAY_KV_KEY for a key that cannot be placed, or MG_GATEWAY_CONFIG_INVALID naming the key
 * path a value breaks. No pair under a section gives the empty configuration (Traefik: no key, no routers).
 */
export function decodeKvPairs(pairs: Iterable<readonly [string, string]>, rootKey: string, source: string): DynamicConfig {
  const root = newNode(rootKey);
  const prefix = `${rootKey}/`;
  let any = false;
  // In key order, as Traefik sorts the pairs: of two spellings of one key (`http/services` and `HTTP/Services`, two
  // keys in a case-sensitive store) the later in that order wins, whatever order the store listed them in.
  const sorted = [...pairs].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  for (const [key, value] of sorted) {
    if (!key.startsWith(prefix)) continue;
    // Traefik trims one trailing slash (a Consul "folder" key) so it does not end in an empty segment.
    const rest = key.slice(prefix.length).replace(/\/$/, '');
    if (rest === '') continue;
    const segments = rest.split('/');
    if (!SECTIONS.has(segments[0]!.toLowerCase())) continue;
    if (segments.includes('')) throw KvKeyError(source, key, 'empty path segment');
    let node = root;
    for (const segment of segments) {
      const lower = segment.toLowerCase();
      let entry = node.children.get(lower);
      if (!entry) {
        entry = [segment, newNode(key)];
        node.children.set(lower, entry);
      }
      node = entry[1];
    }
    node.value = value;
    any = true;
  }
  if (!any) return emptyDynamicConfig();
  return validateDynamicConfig(toPlain(root, source), source);
}

/** A node as JSON-like data: a leaf is its text, all-numeric children a list (in index order), others a map. */
function toPlain(node: KvNode, source: string): unknown {
  if (node.children.size === 0) return node.value ?? '';
  // A value beside keys below it (`…/tls` = "true" and `…/tls/options` = "x"): the keys win, as in paerser, unless
  // the value says something — then the operator meant one of the two and we do not guess.
  if (node.value !== undefined && node.value !== '' && !/^true$/i.test(node.value)) {
    throw KvKeyError(source, node.key, `has the value "${node.value}" and keys below it`);
  }
  const entries = [...node.children.values()];
  const indexed = entries.filter(([name]) => INDEX.test(name));
  if (indexed.length === entries.length) {
    // Numeric order (Traefik sorts the keys as text, which puts …/10 before …/2 — a list of more than ten middlewares
    // would run out of order there).
    return indexed.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, child]) => toPlain(child, source));
  }
  if (indexed.length > 0) throw KvKeyError(source, indexed[0]![1].key, 'mixes list indexes and names under one key');
  // Null prototype: a router named `__proto__` is a name like any other, never the object's prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, child] of entries) out[name] = toPlain(child, source);
  return out;
}
