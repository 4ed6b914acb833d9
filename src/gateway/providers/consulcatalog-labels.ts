/**
 * Traefik's label parser (paerser, `label.DecodeConfiguration`) for catalog tags: `traefik.http.routers.<name>.rule`,
 * `traefik.http.services.<name>.loadbalancer.server.port`, `traefik.http.middlewares.<name>.<kind>.<option>`, … turned
 * into the dynamic configuration's `http` section. Field names match case-insensitively and come out in Traefik's
 * camelCase; names (routers, services, middlewares, map keys) keep the case they were written in; a list is
 * comma-separated (`entrypoints=web,websecure`) unless its elements are objects (`tls.domains[0].main=…`); a section
 * given `true` with nothing under it exists empty (`tls=true`), `false` leaves it out.
 *
 * The shapes come from the same zod schemas that validate a file provider's document, walked here to know which
 * value is a number, a boolean, a list or a map — so a new middleware kind works from tags the moment it registers.
 * A key that is not in the schema is an error naming it (Traefik: "field not found"), which skips the instance.
 */
import type { ZodType } from 'zod';
import { defineError } from '../../lib/errors.ts';
import { compareAsGo } from '../../lib/go-sort.ts';
import { routerSchema } from '../config/dynamic.ts';
import { getMiddlewareSchema, listMiddlewareSchemas } from '../config/schema/middlewares.ts';
// Labels can name any middleware kind: the built-in kinds register their schemas on import.
import '../middlewares/index.ts';
import { loadBalancerSchema } from '../services/schema.ts';
import { tcpLoadBalancerSchema, tcpMiddlewareSchema, tcpRouterSchema, udpLoadBalancerSchema, udpRouterSchema } from '../config/schema/tcp.ts';
import { unwrap, type SchemaDef } from '../config/schema/walk.ts';

export const LabelError = defineError('MG_GATEWAY_LABEL', 400, (key: string, message: string) => `label "${key}": ${message}`);

/** `traefik.http.services.<name>.loadbalancer.server.*`: the one server the labels describe (Traefik's Server). */
export interface LabelServer {
  url?: string;
  port?: string;
  scheme?: string;
  weight?: number;
  preservePath?: boolean;
}

export interface LabelService {
  /** Everything under `loadbalancer` except `server` (servers are the instances, added by the provider). */
  loadBalancer: Record<string, unknown>;
  server: LabelServer;
}

/** `traefik.{tcp,udp}.services.<name>.loadbalancer.server.*`: the one server of a TCP or UDP load balancer. */
export interface LayerLabelServer {
  port?: string;
  tls?: boolean;
  weight?: number;
}

export interface LayerLabelService {
  /** Everything under `loadbalancer` except `server` (its address is the instance's). */
  loadBalancer: Record<string, unknown>;
  server: LayerLabelServer;
}

/** The `traefik.tcp.*` or `traefik.udp.*` part (UDP has no middlewares). */
export interface LayerLabels {
  routers: Record<string, Record<string, unknown>>;
  services: Record<string, LayerLabelService>;
  middlewares: Record<string, Record<string, unknown>>;
}

export interface LabelConfiguration {
  routers: Record<string, Record<string, unknown>>;
  services: Record<string, LabelService>;
  middlewares: Record<string, Record<string, unknown>>;
  tcp: LayerLabels;
  udp: LayerLabels;
}

/**
 * One node of the dotted-key tree: its name as first written, its value (if a label ends here) and its children in
 * label order, keyed case-insensitively — paerser folds `traefik.HTTP.Routers.R` and `traefik.http.routers.r` into
 * one node, names included.
 */
interface LabelNode {
  name: string;
  value?: string;
  key: string;
  children: Map<string, LabelNode>;
}

const newNode = (name: string, key: string): LabelNode => ({ name, key, children: new Map() });

/** `traefik.http.routers.r.tls.domains[0].main` → [..., 'domains', '[0]', 'main']. */
function splitKey(key: string): string[] {
  const out: string[] = [];
  for (const part of key.split('.')) {
    const m = /^(.*?)((?:\[\d+\])+)$/.exec(part);
    if (m) {
      if (m[1]) out.push(m[1]);
      for (const idx of m[2]!.match(/\[\d+\]/g)!) out.push(idx);
    } else out.push(part);
  }
  return out;
}

function buildTree(labels: Record<string, string>, root: string): LabelNode {
  const tree = newNode(root, root);
  // In key order, as paerser's DecodeToNode sorts the labels (sort.Strings): that order names a node's spelling and
  // orders the elements of a list of sections (`domains[10]` before `domains[2]`), whatever order the tags came in.
  for (const [key, value] of Object.entries(labels).sort((a, b) => compareAsGo(a[0], b[0]))) {
    const parts = splitKey(key);
    if (parts.some((p) => p === '')) throw LabelError(key, 'empty segment in the key');
    let node = tree;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      let child = node.children.get(part.toLowerCase());
      if (!child) {
        child = newNode(part, parts.slice(0, i + 1).join('.'));
        node.children.set(part.toLowerCase(), child);
      }
      node = child;
    }
    node.value = value;
  }
  return tree;
}

/** Children as [name as written, node]. */
function named(node: LabelNode | undefined): Array<[string, LabelNode]> {
  return node ? [...node.children.values()].map((c) => [c.name, c]) : [];
}

function childCI(node: LabelNode, name: string): LabelNode | undefined {
  return node.children.get(name.toLowerCase());
}

// ---- zod schema walking -------------------------------------------------------------------------------------------

type Def = SchemaDef;

function parseBool(key: string, value: string): boolean {
  // Go's strconv.ParseBool, which paerser uses.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw LabelError(key, `invalid boolean "${value}"`);
}

function parseScalar(def: Def, key: string, value: string): unknown {
  switch (def.type) {
    case 'literal': {
      // A numeric literal (`proxyProtocol.version`: 1 or 2) reads as the number it is written as.
      const values = (def.values ?? []) as unknown[];
      if (values.length > 0 && values.every((v) => typeof v === 'number')) return parseScalar({ type: 'number' }, key, value);
      return value;
    }
    case 'string':
    case 'enum':
    case 'unknown':
    case 'any':
    case 'template_literal':
      return value;
    case 'number':
    case 'int':
    case 'bigint': {
      const n = Number(value.trim());
      if (value.trim() === '' || !Number.isFinite(n)) throw LabelError(key, `invalid number "${value}"`);
      return n;
    }
    case 'boolean':
      return parseBool(key, value);
    case 'union': {
      const options = (def.options as unknown[]).map(unwrap);
      // A union with a string member (durations: "10s" or seconds) keeps the text; the schema reads both forms.
      if (options.some((o) => o.type === 'string')) return value;
      for (const o of options) {
        try {
          return parseScalar(o, key, value);
        } catch {
          // try the next member
        }
      }
      throw LabelError(key, `invalid value "${value}"`);
    }
    default:
      throw LabelError(key, 'expects a section, not a value');
  }
}

/** Decodes a node against a schema; `node.key` names it in errors. */
function decodeNode(node: LabelNode, schema: unknown): unknown {
  const def = unwrap(schema);
  const key = node.key;
  switch (def.type) {
    case 'object': {
      if (node.children.size === 0) {
        // `tls=true`: the section exists with its defaults; `tls=false`: it does not.
        if (node.value === undefined || parseBool(key, node.value)) return {};
        return undefined;
      }
      const shape = def.shape as Record<string, ZodType>;
      const fields = Object.keys(shape);
      const out: Record<string, unknown> = {};
      for (const [name, child] of named(node)) {
        const field = fields.find((f) => f.toLowerCase() === name.toLowerCase());
        if (field === undefined) throw LabelError(child.key, 'field not found');
        const v = decodeNode(child, shape[field]);
        if (v !== undefined) out[field] = v;
      }
      return out;
    }
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const [name, child] of named(node)) {
        const v = decodeNode(child, def.valueType);
        // Defined, not assigned: a header named `__proto__` is an entry, never the map's prototype.
        if (v !== undefined) Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
      }
      if (node.children.size === 0 && node.value !== undefined && node.value !== '') throw LabelError(key, 'expects a map of values');
      return out;
    }
    case 'array': {
      const element = unwrap(def.element);
      if (node.children.size === 0) {
        if (element.type === 'object' || element.type === 'record') throw LabelError(key, 'expects indexed entries like [0]');
        const text = node.value ?? '';
        if (text.trim() === '') return [];
        return text.split(',').map((item) => parseScalar(element, key, item.trim()));
      }
      const indexed: Array<[number, unknown]> = [];
      for (const [name, child] of named(node)) {
        const m = /^\[(\d+)\]$/.exec(name);
        if (!m) throw LabelError(child.key, 'field not found');
        indexed.push([Number(m[1]), child.children.size === 0 && element.type !== 'object' ? parseScalar(element, child.key, child.value ?? '') : decodeNode(child, def.element)]);
      }
      // Traefik's setSliceStruct takes the children in the sorted keys' order: text order, not the indexes' values.
      return indexed.map(([, v]) => v);
    }
    case 'unknown':
    case 'any':
      return node.children.size === 0 ? (node.value ?? '') : freeForm(node);
    default:
      if (node.children.size > 0) throw LabelError([...node.children.values()][0]!.key, 'field not found');
      return parseScalar(def, key, node.value ?? '');
  }
}

/** Plugin options and other untyped maps: nested objects of strings, names as written. */
function freeForm(node: LabelNode): unknown {
  if (node.children.size === 0) return node.value ?? '';
  const out: Record<string, unknown> = {};
  for (const [name, child] of named(node)) Object.defineProperty(out, name, { value: freeForm(child), enumerable: true, writable: true, configurable: true });
  return out;
}

// ---- sections -----------------------------------------------------------------------------------------------------

function decodeService(node: LabelNode): LabelService {
  const service: LabelService = { loadBalancer: {}, server: {} };
  for (const [name, child] of named(node)) {
    // Traefik's label-decodable service kind is the load balancer; weighted/mirroring/failover are file-only.
    if (name.toLowerCase() !== 'loadbalancer') throw LabelError(child.key, 'field not found');
    if (child.children.size === 0) continue;
    const rest = newNode(child.name, child.key);
    for (const [field, grand] of named(child)) {
      if (field.toLowerCase() === 'server') service.server = decodeServer(grand);
      else if (field.toLowerCase() === 'servers') throw LabelError(grand.key, 'field not found (servers come from the catalog; use server.port/server.scheme)');
      else rest.children.set(field.toLowerCase(), grand);
    }
    service.loadBalancer = (decodeNode(rest, loadBalancerSchema) as Record<string, unknown> | undefined) ?? {};
  }
  return service;
}

function decodeServer(node: LabelNode): LabelServer {
  const server: LabelServer = {};
  for (const [name, child] of named(node)) {
    const value = child.value ?? '';
    if (child.children.size > 0) throw LabelError([...child.children.values()][0]!.key, 'field not found');
    switch (name.toLowerCase()) {
      case 'port':
        // Empty means unset (Traefik's Server.Port is a string): the instance's port is used.
        if (value.trim() === '') break;
        if (!/^\d+$/.test(value.trim())) throw LabelError(child.key, `invalid port "${value}"`);
        server.port = value.trim();
        break;
      case 'url':
        server.url = value.trim();
        break;
      case 'scheme':
        if (value.trim() !== '') server.scheme = value.trim();
        break;
      case 'weight':
        server.weight = parseScalar({ type: 'number' }, child.key, value) as number;
        break;
      case 'preservepath':
        server.preservePath = parseBool(child.key, value);
        break;
      default:
        throw LabelError(child.key, 'field not found');
    }
  }
  return server;
}

function decodeMiddleware(node: LabelNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const kinds = listMiddlewareSchemas();
  for (const [name, child] of named(node)) {
    if (name.toLowerCase() === 'plugin') {
      out.plugin = freeForm(child);
      continue;
    }
    const kind = kinds.find((k) => k.toLowerCase() === name.toLowerCase());
    if (kind === undefined) throw LabelError(child.key, `unknown middleware kind "${name}"`);
    out[kind] = decodeNode(child, getMiddlewareSchema(kind)!) ?? {};
  }
  return out;
}

/**
 * Decodes the `traefik.*` labels of one instance (keys already carry the neutral `traefik.` prefix). Only the
 * `traefik.http.*`, `traefik.tcp.*` and `traefik.udp.*` trees are configuration; other keys (`traefik.enable`,
 * `traefik.consulcatalog.*`, anything a defaultRule template reads) are ignored here. Throws LabelError naming the first bad key.
 */
export function decodeLabels(labels: Record<string, string>): LabelConfiguration {
  const result: LabelConfiguration = {
    routers: {}, services: {}, middlewares: {},
    tcp: { routers: {}, services: {}, middlewares: {} },
    udp: { routers: {}, services: {}, middlewares: {} },
  };
  const relevant: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('traefik.http.') || lower.startsWith('traefik.tcp.') || lower.startsWith('traefik.udp.')) relevant[key] = value;
  }
  const tree = buildTree(relevant, 'traefik');
  const root = childCI(tree, 'traefik');
  if (!root) return result;
  for (const [protocol, protocolNode] of named(root)) {
    const layer = protocol.toLowerCase();
    for (const [top, section] of named(protocolNode)) {
      const lower = top.toLowerCase();
      for (const [name, node] of named(section)) {
        if (name.startsWith('[')) throw LabelError(node.key, 'field not found');
        // Traefik (Go maps) would take the name; the catalog's merging of instances reads and writes plain objects by
        // name, where `__proto__` is the prototype — so the instance is skipped with this error, never half-applied.
        if (name === '__proto__') throw LabelError(node.key, 'a router, service or middleware named "__proto__" is not supported from catalog tags (it is from the file and KV providers)');
        if (layer === 'http') decodeHttpElement(result, lower, name, node, section);
        else decodeLayerElement(layer === 'tcp' ? result.tcp : result.udp, layer as 'tcp' | 'udp', lower, name, node, section);
      }
      if (section.children.size === 0) throw LabelError(section.key, 'expects named entries');
    }
  }
  return result;
}

function decodeHttpElement(result: LabelConfiguration, kind: string, name: string, node: LabelNode, section: LabelNode): void {
  if (kind === 'routers') result.routers[name] = (decodeNode(node, routerSchema) as Record<string, unknown> | undefined) ?? {};
  else if (kind === 'services') result.services[name] = decodeService(node);
  else if (kind === 'middlewares') result.middlewares[name] = decodeMiddleware(node);
  else throw LabelError(section.key, 'field not found');
}

/**
 * `traefik.tcp.*` and `traefik.udp.*` (Traefik's TCPConfiguration/UDPConfiguration as labels): routers and TCP
 * middlewares as their schemas say; a service is a load balancer whose one `server` gives a port (and, for TCP,
 * `tls`) — its address is the instance's (consulcatalog config.go addServerTCP/addServerUDP).
 */
function decodeLayerElement(target: LayerLabels, layer: 'tcp' | 'udp', kind: string, name: string, node: LabelNode, section: LabelNode): void {
  if (kind === 'routers') target.routers[name] = (decodeNode(node, layer === 'tcp' ? tcpRouterSchema : udpRouterSchema) as Record<string, unknown> | undefined) ?? {};
  else if (kind === 'services') target.services[name] = decodeLayerService(node, layer);
  else if (kind === 'middlewares' && layer === 'tcp') target.middlewares[name] = (decodeNode(node, tcpMiddlewareSchema) as Record<string, unknown> | undefined) ?? {};
  else throw LabelError(section.key, 'field not found');
}

function decodeLayerService(node: LabelNode, layer: 'tcp' | 'udp'): LayerLabelService {
  const service: LayerLabelService = { loadBalancer: {}, server: {} };
  for (const [name, child] of named(node)) {
    // As for HTTP, the label-decodable kind is the load balancer (weighted services are file-only).
    if (name.toLowerCase() !== 'loadbalancer') throw LabelError(child.key, 'field not found');
    if (child.children.size === 0) continue;
    const rest = newNode(child.name, child.key);
    for (const [field, grand] of named(child)) {
      if (field.toLowerCase() === 'server') service.server = decodeLayerServer(grand, layer);
      else if (field.toLowerCase() === 'servers') throw LabelError(grand.key, 'field not found (servers come from the catalog; use server.port)');
      else rest.children.set(field.toLowerCase(), grand);
    }
    service.loadBalancer = (decodeNode(rest, layer === 'tcp' ? tcpLoadBalancerSchema : udpLoadBalancerSchema) as Record<string, unknown> | undefined) ?? {};
  }
  return service;
}

function decodeLayerServer(node: LabelNode, layer: 'tcp' | 'udp'): LayerLabelServer {
  const server: LayerLabelServer = {};
  for (const [name, child] of named(node)) {
    const value = child.value ?? '';
    if (child.children.size > 0) throw LabelError([...child.children.values()][0]!.key, 'field not found');
    const field = name.toLowerCase();
    if (field === 'port') {
      if (value.trim() === '') continue;
      if (!/^\d+$/.test(value.trim())) throw LabelError(child.key, `invalid port "${value}"`);
      server.port = value.trim();
    } else if (field === 'tls' && layer === 'tcp') server.tls = parseBool(child.key, value);
    else if (field === 'weight') server.weight = parseScalar({ type: 'number' }, child.key, value) as number;
    else throw LabelError(child.key, 'field not found');
  }
  return server;
}

/**
 * Traefik's tagsToNeutralLabels: each tag `<prefix>.<key>=<value>` becomes the label `traefik.<key>`; tags without
 * `=` or without the prefix are not labels (they stay available to constraints).
 */
export function tagsToLabels(tags: readonly string[] | null | undefined, prefix: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (!tag.startsWith(prefix)) continue;
    const eq = tag.indexOf('=');
    if (eq === -1) continue;
    const key = tag.slice(0, eq);
    // As Traefik: only `<prefix>.` is replaced; `traefikfoo=x` under prefix `traefik` becomes `traefik.traefikfoo`.
    const rest = key.startsWith(`${prefix}.`) ? key.slice(prefix.length + 1) : key;
    labels[`traefik.${rest}`] = tag.slice(eq + 1);
  }
  return labels;
}
