/**
 * Prepared query templates (agent/consul/prepared_query/template.go): `Template.Type` must be `name_prefix_match`;
 * every string in `Service` (Service, Near, Peer, Tags[i], IgnoreCheckIDs[i], Failover.Datacenters[i],
 * NodeMeta[k], ServiceMeta[k]) is a HIL template evaluated with `name.full` (the name looked up), `name.prefix`
 * (the query's Name) and `name.suffix` (the name without the prefix, cut case-sensitively as Go's TrimPrefix
 * does), and `match(N)` (the Nth submatch of `Template.Regexp` against the full name, "" when it does not match or
 * N is out of range; the Regexp is a Go regexp, compiled by lib/go-regexp). Only the HIL Consul's templates use is
 * understood: variables, `match(<int>)`, string and integer literals, and `$${` for a literal `${`.
 */
import { compileGoRegexp, type GoRegexp } from '../../lib/go-regexp/index.ts';
import { QueryErrors, type ServiceQuery, type StoredQuery } from './tables.ts';

export const NAME_PREFIX_MATCH = 'name_prefix_match';

type Expr =
  | { kind: 'var'; name: string }
  | { kind: 'match'; index: number }
  | { kind: 'literal'; value: string };
type Part = string | Expr;

const VARIABLES = new Set(['name.full', 'name.prefix', 'name.suffix']);

export function isTemplate(q: StoredQuery): boolean {
  return q.Template.Type !== '';
}

/** Compile's checks: the type, each string's syntax, the Regexp, and a test render with the query's own name. */
export function compileTemplate(q: StoredQuery): void {
  if (q.Template.Type !== NAME_PREFIX_MATCH) throw QueryErrors.invalid(`Bad Template.Type '${q.Template.Type}'`);
  compileRegexp(q);
  walk(q.Service, (path, text) => {
    parseHil(text, path);
    return text;
  });
  renderTemplate(q, q.Name);
}

/** Render: a copy of the query with every Service string evaluated for `name`. */
export function renderTemplate(q: StoredQuery, name: string): StoredQuery {
  const vars: Record<string, string> = {
    'name.full': name,
    'name.prefix': q.Name,
    'name.suffix': name.startsWith(q.Name) ? name.slice(q.Name.length) : name,
  };
  const re = compileRegexp(q);
  const matches = re ? (re.findSubmatch(name) ?? []).map((g) => g ?? '') : [];
  const service = walk(q.Service, (path, text) => evaluate(parseHil(text, path), vars, matches, text, path));
  if (q.Template.RemoveEmptyTags && service.Tags) service.Tags = service.Tags.filter((t) => t !== '');
  return { ...q, Service: service };
}

function compileRegexp(q: StoredQuery): GoRegexp | undefined {
  if (q.Template.Regexp === '') return undefined;
  try {
    return compileGoRegexp(q.Template.Regexp);
  } catch (err) {
    throw QueryErrors.invalid(`Bad Regexp: ${(err as Error).message}`);
  }
}

/** Applies `fn` to every string field of a ServiceQuery, returning a new one. */
function walk(s: ServiceQuery, fn: (path: string, text: string) => string): ServiceQuery {
  const list = (path: string, xs: string[] | null) => (xs ? xs.map((x, i) => fn(`${path}[${i}]`, x)) : null);
  const map = (path: string, m: Record<string, string> | null) => {
    if (!m) return null;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[k] = fn(`${path}[${k}]`, v);
    return out;
  };
  return {
    ...s,
    Service: fn('.Service', s.Service),
    Near: fn('.Near', s.Near),
    Peer: fn('.Peer', s.Peer),
    Failover: { ...s.Failover, Datacenters: list('.Failover.Datacenters', s.Failover.Datacenters) },
    IgnoreCheckIDs: list('.IgnoreCheckIDs', s.IgnoreCheckIDs),
    Tags: list('.Tags', s.Tags),
    NodeMeta: map('.NodeMeta', s.NodeMeta),
    ServiceMeta: map('.ServiceMeta', s.ServiceMeta),
  };
}

function parseHil(text: string, path: string): Part[] {
  const fail = (why: string) => QueryErrors.invalid(`Bad format '${text}' in Service${path}: ${why}`);
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      literal += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      literal += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('}', i + 2);
    if (end < 0) throw fail('unterminated interpolation: missing "}"');
    if (literal) parts.push(literal);
    literal = '';
    parts.push(parseExpr(text.slice(i + 2, end).trim(), fail));
    i = end + 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

function parseExpr(expr: string, fail: (why: string) => Error): Expr {
  let m = /^match\(\s*(-?\d+)\s*\)$/.exec(expr);
  if (m) return { kind: 'match', index: Number(m[1]) };
  m = /^"((?:[^"\\]|\\.)*)"$/.exec(expr);
  if (m) return { kind: 'literal', value: m[1]!.replace(/\\(.)/g, '$1') };
  if (/^-?\d+$/.test(expr)) return { kind: 'literal', value: expr };
  if (/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(expr)) return { kind: 'var', name: expr };
  throw fail(expr === '' ? 'empty interpolation' : `cannot parse expression ${JSON.stringify(expr)}`);
}

function evaluate(parts: Part[], vars: Record<string, string>, matches: string[], text: string, path: string): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else if (p.kind === 'literal') out += p.value;
    else if (p.kind === 'match') out += p.index >= 0 && p.index < matches.length ? matches[p.index] : '';
    else {
      if (!VARIABLES.has(p.name)) throw QueryErrors.invalid(`Bad evaluation for '${text}' in Service${path}: unknown variable accessed: ${p.name}`);
      out += vars[p.name];
    }
  }
  return out;
}
