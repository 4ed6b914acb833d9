/**
 * Traefik v2's route templates, as its v2 matchers hand them to gorilla/mux (Traefik's fork containous/mux,
 * regexp.go `newRouteRegexp` and `braceIndices`): literal text with `{name}` or `{name:pattern}` variables. The
 * template becomes one Go regexp — `^`, each literal part quoted (`regexp.QuoteMeta`), each variable
 * `(?P<vN>pattern)` with a default pattern per kind (`[^/]+` for paths, `[^.]+` for hosts, `.*` for query values),
 * then `$` unless the template is a path prefix. It is compiled with the one Go-regexp compiler (src/lib/go-regexp),
 * so a hostile pattern cannot stall a worker. Errors carry mux's own wording ("mux: unbalanced braces in …").
 */
import { compileGoRegexp, ErrRegexpSyntax, GoRegexp, quoteMeta } from '../../lib/go-regexp/index.ts';
import { isMeshgateError } from '../../lib/errors.ts';

export type MuxTemplateKind = 'host' | 'path' | 'prefix' | 'query';

/** Why mux (or Go's regexp.Compile) refuses a template, in their words; the caller turns it into a rule error. */
export interface MuxTemplateProblem {
  readonly problem: string;
}

export function isProblem(v: object): v is MuxTemplateProblem {
  return 'problem' in v;
}

const DEFAULT_PATTERN: Record<MuxTemplateKind, string> = { host: '[^.]+', path: '[^/]+', prefix: '[^/]+', query: '.*' };

/** mux's braceIndices: [start, end) of each top-level `{…}`; unbalanced braces are a problem. */
export function braceIndices(s: string): number[] | MuxTemplateProblem {
  let level = 0;
  let start = 0;
  const idxs: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 123) {
      if (++level === 1) start = i;
    } else if (c === 125) {
      if (--level === 0) idxs.push(start, i + 1);
      else if (level < 0) return { problem: `mux: unbalanced braces in ${JSON.stringify(s)}` };
    }
  }
  if (level !== 0) return { problem: `mux: unbalanced braces in ${JSON.stringify(s)}` };
  return idxs;
}

export interface TemplateOptions {
  /** Prefix `(?i)`, as Traefik's TCP `HostSNIRegexp` v2 does. */
  readonly caseInsensitive?: boolean;
  /** Compile each variable's pattern alone as `^pattern$`, as mux does (default); Traefik's TCP copy does not. */
  readonly checkVariables?: boolean;
}

export interface MuxTemplate {
  /** The Go regexp source the template stands for. */
  readonly pattern: string;
  /** Variable names in order (mux refuses the same name twice in one route's query templates). */
  readonly names: readonly string[];
  /** Whether the template has no variable at all (its regexp then matches only the text itself, or a prefix of it). */
  readonly literal: boolean;
}

/** The Go regexp for a template, or why mux refuses it. */
export function muxTemplate(tpl: string, kind: MuxTemplateKind, options: TemplateOptions = {}): MuxTemplate | MuxTemplateProblem {
  const idxs = braceIndices(tpl);
  if (!Array.isArray(idxs)) return idxs;
  const names: string[] = [];
  let pattern = options.caseInsensitive === true ? '(?i)^' : '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(end, idxs[i]);
    end = idxs[i + 1]!;
    const inner = tpl.slice(idxs[i]! + 1, end - 1);
    const colon = inner.indexOf(':');
    const name = colon < 0 ? inner : inner.slice(0, colon);
    const patt = colon < 0 ? DEFAULT_PATTERN[kind] : inner.slice(colon + 1);
    if (name === '' || patt === '') return { problem: `mux: missing name or pattern in ${JSON.stringify(tpl.slice(idxs[i], end))}` };
    pattern += `${quoteMeta(raw)}(?P<v${i / 2}>${patt})`;
    names.push(name);
    if (options.checkVariables !== false) {
      const checked = compile(`^${patt}$`);
      if (!(checked instanceof GoRegexp)) return checked;
    }
  }
  pattern += quoteMeta(tpl.slice(end));
  // A query template with an empty value (`foo=`) takes any value of the key.
  if (kind === 'query' && tpl.slice(tpl.indexOf('=') + 1) === '') pattern += DEFAULT_PATTERN.query;
  if (kind !== 'prefix') pattern += '$';
  return { pattern, names, literal: idxs.length === 0 };
}

/** Compiles a template's pattern on the linear-time engine, or says why mux or Go refuses it. */
export function compileMuxTemplate(tpl: string, kind: MuxTemplateKind, options: TemplateOptions = {}): { regexp: GoRegexp; names: readonly string[] } | MuxTemplateProblem {
  const t = muxTemplate(tpl, kind, options);
  if (isProblem(t)) return t;
  const regexp = compile(t.pattern);
  return regexp instanceof GoRegexp ? { regexp, names: t.names } : regexp;
}

function compile(pattern: string): GoRegexp | MuxTemplateProblem {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    if (isMeshgateError(err, ErrRegexpSyntax.code)) return { problem: err.message };
    throw err;
  }
}

/** The literal text before a template's first variable: every path the template matches starts with it. */
export function literalPrefix(tpl: string): string {
  const brace = tpl.indexOf('{');
  return brace < 0 ? tpl : tpl.slice(0, brace);
}
