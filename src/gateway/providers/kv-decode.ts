/**
 * Traefik's KV layout (pkg/config/kv: DecodeToNode + paerser Fill) read into the dynamic configuration: every key
 * under `<rootKey>/` is a path, `traefik/http/routers/web/rule` → `http.routers.web.rule`; segments match without
 * regard to case and the first spelling seen names a map entry. Only the four sections of a dynamic configuration
 * (`http`, `tcp`, `udp`, `tls`) are read, as Traefik filters on the Configuration's fields; other keys under the root
 * are left alone.
 *
 * Lists, exactly as Traefik builds them (kv_node.go `filterPairs`): the pairs are sorted as text; a key whose last
 * segment is a number (`…/entrypoints/0`, `…/entrypoints/1`) is one item of a list of scalars, whose values are
 * joined with commas under the key without the index — so `…/entrypoints` = `web,websecure` is the same list, and
 * paerser's `setSlice` splits it again on commas, trimming each item. A number in the middle of a key
 * (`…/servers/0/url`) is an element of a list of sections, in the order the sorted keys first name it. Both orders are
 * text order, as in Traefik: `…/10` comes before `…/2`.
 *
 * Values stay text here: `validateDynamicConfig` (with `textLists`) reads numbers, booleans, comma lists and
 * `true`-for-a-section from text as paerser does, and rejects the whole document naming the bad key — so a bad key
 * never produces a partial configuration.
 */
import { defineError } from '../../lib/errors.ts';
import { compareAsGo } from '../../lib/go-sort.ts';
import { emptyDynamicConfig, validateDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';

export const KvKeyError = defineError('MG_GATEWAY_KV_KEY', 400, (source: string, key: string, message: string) => `${source}: key "${key}": ${message}`);

const SECTIONS = new Set(['http', 'tcp', 'udp', 'tls']);
const INDEX = /^\d+$/;
/** kv_node.go filterPairs: a key ending in a numeric segment is an item of a list of scalars. */
const SCALAR_ITEM = /^(.+)\/\d+$/;

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
  for (const [key, value] of filterPairs(pairs)) {
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
  return validateDynamicConfig(toPlain(root, source), source, { textLists: true });
}

const sortAsGo = (pairs: Array<readonly [string, string]>): Array<readonly [string, string]> => pairs.sort((a, b) => compareAsGo(a[0], b[0]));

/**
 * Traefik's filterPairs: the items of each list of scalars (keys ending in a numeric segment) joined, in key order,
 * into one pair under the list's key, which replaces a plain pair of that key; the result sorted again.
 */
function filterPairs(pairs: Iterable<readonly [string, string]>): Array<readonly [string, string]> {
  const simple = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (const [key, value] of sortAsGo([...pairs])) {
    const item = SCALAR_ITEM.exec(key);
    if (item === null) {
      simple.set(key, value);
      continue;
    }
    const items = lists.get(item[1]!);
    if (items === undefined) lists.set(item[1]!, [value]);
    else items.push(value);
  }
  const out: Array<readonly [string, string]> = [];
  for (const [key, items] of lists) {
    simple.delete(key);
    out.push([key, items.join(',')]);
  }
  for (const pair of simple) out.push(pair);
  return sortAsGo(out);
}

/** A node as JSON-like data: a leaf is its text, all-numeric children a list (in key order), others a map. */
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
    // The order the sorted keys first named each element (paerser setSliceStruct takes the node's children as they
    // are): text order, `…/10/url` before `…/2/url`, as Traefik.
    return indexed.map(([, child]) => toPlain(child, source));
  }
  if (indexed.length > 0) throw KvKeyError(source, indexed[0]![1].key, 'mixes list indexes and names under one key');
  // Null prototype: a router named `__proto__` is a name like any other, never the object's prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [name, child] of entries) out[name] = toPlain(child, source);
  return out;
}
