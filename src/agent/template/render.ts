/**
 * Rendering a parsed template against what the agent has fetched so far. Every function call names a dependency
 * (`key:<path>`, `prefix:<path>`, `service:<name>`); the renderer records them all, and when one has not been
 * fetched yet — or `key` names a key that does not exist — the result is incomplete and must not be written
 * (consul-template's behaviour: a template renders only once all its data is there).
 */
import { kvValueText } from '../../api/kv.ts';
import type { KVPair, ServiceEntry } from '../../api/types.ts';
import type { Arg, Expr, Node } from './language.ts';

export type Dependency = { kind: 'key' | 'prefix'; path: string } | { kind: 'service'; name: string };

export function dependencyId(d: Dependency): string {
  return d.kind === 'service' ? `service:${d.name}` : `${d.kind}:${d.path}`;
}

/** What the renderer reads: the fetched value of a dependency, or undefined while it has not been fetched. */
export interface DataSource {
  get(id: string): KVPair | null | KVPair[] | ServiceEntry[] | undefined;
}

export interface RenderResult {
  text: string;
  complete: boolean;
  dependencies: Map<string, Dependency>;
}

type Value = string | boolean | Value[] | { [field: string]: Value } | number;

export function renderTemplate(nodes: readonly Node[], data: DataSource): RenderResult {
  const deps = new Map<string, Dependency>();
  let complete = true;
  const out: string[] = [];

  const need = (d: Dependency) => {
    const id = dependencyId(d);
    deps.set(id, d);
    const v = data.get(id);
    if (v === undefined) complete = false;
    return v;
  };

  const argValue = (a: Arg, dot: Value): string => (a.kind === 'string' ? a.value : toText(field(dot, a.path)));

  const evaluate = (e: Expr, dot: Value): Value => {
    if (e.kind === 'field') return field(dot, e.path);
    if (e.kind === 'string') return e.value;
    const [a0, a1] = e.args.map((a) => argValue(a, dot));
    const path = trimSlashes(a0!);
    switch (e.fn) {
      case 'key': {
        const pair = need({ kind: 'key', path }) as KVPair | null | undefined;
        if (pair === null) complete = false;
        return pair ? kvValueText(pair) : '';
      }
      case 'keyOrDefault': {
        const pair = need({ kind: 'key', path }) as KVPair | null | undefined;
        return pair ? kvValueText(pair) : a1!;
      }
      case 'keyExists':
        return !!need({ kind: 'key', path });
      case 'ls':
      case 'tree': {
        const pairs = (need({ kind: 'prefix', path }) as KVPair[] | undefined) ?? [];
        const base = path === '' ? '' : `${path}/`;
        const items: Value[] = [];
        for (const p of pairs) {
          if (!p.Key.startsWith(base)) continue;
          const rel = p.Key.slice(base.length);
          if (rel === '' || rel.endsWith('/')) continue; // the prefix itself and folders
          if (e.fn === 'ls' && rel.includes('/')) continue;
          items.push({ Key: rel, Value: kvValueText(p), Flags: p.Flags });
        }
        return items;
      }
      case 'service': {
        const entries = (need({ kind: 'service', name: a0! }) as ServiceEntry[] | undefined) ?? [];
        return entries.map((s) => ({
          ID: s.Service.ID, Name: s.Service.Service, Node: s.Node.Node, NodeAddress: s.Node.Address,
          Address: s.Service.Address || s.Node.Address, Port: s.Service.Port, Tags: s.Service.Tags ?? [], ServiceMeta: s.Service.Meta ?? {},
        }));
      }
    }
  };

  const walk = (list: readonly Node[], dot: Value) => {
    for (const n of list) {
      if (n.kind === 'text') out.push(n.text);
      else if (n.kind === 'output') out.push(toText(evaluate(n.expr, dot)));
      else {
        const v = evaluate(n.expr, dot);
        if (n.kind === 'if') walk(truthy(v) ? n.body : n.elseBody, dot);
        else if (Array.isArray(v) && v.length > 0) for (const item of v) walk(n.body, item);
        else walk(n.elseBody, dot);
      }
    }
  };
  walk(nodes, {});
  return { text: out.join(''), complete, dependencies: deps };
}

function field(dot: Value, path: readonly string[]): Value {
  let v: Value | undefined = dot;
  for (const p of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, p) ? v[p] : '';
  return v ?? '';
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

/** Go's fmt rendering of the few shapes we produce: lists as `[a b]`, maps as `map[k:v]`. */
function toText(v: Value): string {
  if (Array.isArray(v)) return `[${v.map(toText).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${toText(v[k]!)}`).join(' ')}]`;
  return String(v);
}

function trimSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '');
}
