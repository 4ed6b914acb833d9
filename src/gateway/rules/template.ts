/**
 * The catalog provider's `defaultRule`: a Go text/template rendered per service, e.g. ``Host(`{{ normalize .Name }}`)``
 * (Traefik's consulcatalog default). The subset Traefik users write is supported: text, `{{ … }}` actions with
 * `{{-`/`-}}` trimming and comments, field chains (`.Name`, `.Labels.x`), string literals, parentheses, pipelines
 * (`{{ .Name | normalize | lower }}`), and the functions `normalize` (Traefik's provider.Normalize), Go's `index`, and
 * sprig's `lower`, `upper`, `trim`, `trimPrefix`, `trimSuffix`, `replace`, `default`. A template is parsed once
 * (parseDefaultRuleTemplate) and executed per service.
 *
 * The data is the service model: its top-level fields behave like a Go struct (an unknown field is an error), the
 * values below them like Go maps (a missing key prints `<no value>`, `index` of a missing key gives "").
 */
import { defineError } from '../../lib/errors.ts';

export const TemplateError = defineError('MG_RULE_TEMPLATE', 400, (message: string) => `template: defaultRule: ${message}`);

/** Traefik's provider.Normalize: every run of characters that are not Unicode letters or numbers becomes one '-'. */
export function normalize(name: string): string {
  return name.split(/[^\p{L}\p{N}]+/u).filter((f) => f !== '').join('-');
}

type Value = unknown;
type Fn = (...args: Value[]) => Value;

const NO_VALUE = '<no value>';

function str(fn: string, v: Value): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw TemplateError(`error calling ${fn}: expected a string, got ${typeof v}`);
}

function isEmpty(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

const FUNCS: Record<string, Fn> = {
  normalize: (s) => normalize(str('normalize', s)),
  lower: (s) => str('lower', s).toLowerCase(),
  upper: (s) => str('upper', s).toUpperCase(),
  trim: (s) => str('trim', s).trim(),
  trimPrefix: (prefix, s) => {
    const p = str('trimPrefix', prefix);
    const v = str('trimPrefix', s);
    return p !== '' && v.startsWith(p) ? v.slice(p.length) : v;
  },
  trimSuffix: (suffix, s) => {
    const x = str('trimSuffix', suffix);
    const v = str('trimSuffix', s);
    return x !== '' && v.endsWith(x) ? v.slice(0, v.length - x.length) : v;
  },
  replace: (oldS, newS, s) => str('replace', s).replaceAll(str('replace', oldS), str('replace', newS)),
  default: (def, given) => (isEmpty(given) ? def : given),
  index: (coll, ...keys) => {
    let v = coll;
    for (const k of keys) {
      if (v === undefined || v === null) throw TemplateError('error calling index: index of untyped nil');
      if (Array.isArray(v)) {
        const i = typeof k === 'number' ? k : Number(k);
        if (!Number.isInteger(i) || i < 0 || i >= v.length) throw TemplateError(`error calling index: index out of range: ${String(k)}`);
        v = v[i];
      } else if (v instanceof Map) {
        v = v.has(k) ? v.get(k) : '';
      } else if (typeof v === 'object') {
        const key = str('index', k);
        v = Object.hasOwn(v, key) ? (v as Record<string, Value>)[key] : '';
      } else throw TemplateError(`error calling index: can't index item of type ${typeof v}`);
    }
    return v;
  },
};

type Operand =
  | { kind: 'field'; path: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'fn'; name: string }
  | { kind: 'sub'; pipeline: Command[] };
type Command = Operand[];
type Node = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Command[]; source: string };

class ActionParser {
  private pos = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  private skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  pipeline(closing: string | undefined): Command[] {
    const cmds: Command[] = [];
    for (;;) {
      const cmd: Command = [];
      for (;;) {
        this.skipSpace();
        const ch = this.src[this.pos];
        if (ch === undefined || ch === '|' || ch === closing) break;
        cmd.push(this.operand());
      }
      if (cmd.length === 0) throw TemplateError(`missing command in ${JSON.stringify(this.src)}`);
      cmds.push(cmd);
      if (this.src[this.pos] === '|') {
        this.pos++;
        continue;
      }
      return cmds;
    }
  }

  private operand(): Operand {
    const s = this.src;
    const ch = s[this.pos]!;
    if (ch === '(') {
      this.pos++;
      const pipeline = this.pipeline(')');
      if (s[this.pos] !== ')') throw TemplateError(`unclosed left paren in ${JSON.stringify(s)}`);
      this.pos++;
      return { kind: 'sub', pipeline };
    }
    if (ch === '"') {
      const m = /^"(?:[^"\\\n]|\\.)*"/.exec(s.slice(this.pos));
      if (m === null) throw TemplateError(`unterminated quoted string in ${JSON.stringify(s)}`);
      this.pos += m[0].length;
      return { kind: 'literal', value: JSON.parse(m[0]) as string };
    }
    if (ch === '`') {
      const end = s.indexOf('`', this.pos + 1);
      if (end < 0) throw TemplateError(`unterminated raw quoted string in ${JSON.stringify(s)}`);
      const value = s.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { kind: 'literal', value };
    }
    const m = /^[^\s|()]+/.exec(s.slice(this.pos))!;
    const word = m[0];
    this.pos += word.length;
    if (word === '.') return { kind: 'field', path: [] };
    if (word.startsWith('.')) {
      const path = word.slice(1).split('.');
      if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) throw TemplateError(`bad field name ${word}`);
      return { kind: 'field', path };
    }
    if (/^-?\d+$/.test(word)) return { kind: 'literal', value: Number(word) };
    if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true' };
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
      if (FUNCS[word] === undefined) throw TemplateError(`function ${JSON.stringify(word)} not defined`);
      return { kind: 'fn', name: word };
    }
    throw TemplateError(`unexpected ${JSON.stringify(word)} in command`);
  }
}

function parseTemplate(src: string): Node[] {
  const nodes: Node[] = [];
  let pos = 0;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    if (open < 0) {
      nodes.push({ kind: 'text', text: src.slice(pos) });
      break;
    }
    let text = src.slice(pos, open);
    let inner = open + 2;
    if (src.startsWith('- ', inner) || src.startsWith('-\t', inner) || src.startsWith('-\n', inner)) {
      text = text.replace(/\s+$/, '');
      inner += 1;
    }
    if (text !== '') nodes.push({ kind: 'text', text });
    const close = src.indexOf('}}', inner);
    if (close < 0) throw TemplateError(`unclosed action`);
    let body = src.slice(inner, close);
    let after = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(after))!;
      after += m[0].length;
    }
    pos = after;
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw TemplateError('unclosed comment');
      continue;
    }
    const parser = new ActionParser(body);
    const pipeline = parser.pipeline(undefined);
    nodes.push({ kind: 'action', pipeline, source: trimmed });
  }
  return nodes;
}

function evalField(data: Value, path: string[]): Value {
  let v = data;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (v instanceof Map) v = v.get(key);
    else if (v !== null && typeof v === 'object') {
      if (!Object.hasOwn(v, key)) {
        if (i === 0) throw TemplateError(`can't evaluate field ${key} in the service model`);
        return undefined;
      }
      v = (v as Record<string, Value>)[key];
    } else if (v === undefined) {
      return undefined;
    } else throw TemplateError(`can't evaluate field ${key} in type ${typeof v}`);
  }
  return v;
}

function evalOperand(op: Operand, data: Value): Value {
  switch (op.kind) {
    case 'field':
      return evalField(data, op.path);
    case 'literal':
      return op.value;
    case 'sub':
      return evalPipeline(op.pipeline, data);
    case 'fn':
      return FUNCS[op.name]!();
  }
}

function evalPipeline(pipeline: Command[], data: Value): Value {
  let piped: Value;
  let hasPiped = false;
  for (const cmd of pipeline) {
    const head = cmd[0]!;
    if (head.kind === 'fn') {
      const args = cmd.slice(1).map((a) => evalOperand(a, data));
      if (hasPiped) args.push(piped);
      const fn = FUNCS[head.name]!;
      if (args.length < fn.length) throw TemplateError(`wrong number of args for ${head.name}: want ${fn.length} got ${args.length}`);
      piped = fn(...args);
    } else {
      if (cmd.length > 1 || hasPiped) throw TemplateError(`can't give argument to non-function ${describeOperand(head)}`);
      piped = evalOperand(head, data);
    }
    hasPiped = true;
  }
  return piped;
}

function describeOperand(op: Operand): string {
  return op.kind === 'field' ? `.${op.path.join('.')}` : op.kind;
}

function print(v: Value): string {
  if (v === undefined || v === null) return NO_VALUE;
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return NO_VALUE;
}

export interface DefaultRuleTemplate {
  readonly source: string;
  execute(data: Record<string, unknown>): string;
}

/** Parses a defaultRule template once. Throws MG_RULE_TEMPLATE for syntax errors or unknown functions. */
export function parseDefaultRuleTemplate(source: string): DefaultRuleTemplate {
  const nodes = parseTemplate(source);
  return {
    source,
    execute(data) {
      let out = '';
      for (const n of nodes) out += n.kind === 'text' ? n.text : print(evalPipeline(n.pipeline, data));
      return out;
    },
  };
}

/** Renders a defaultRule template for one service model, e.g. `{ Name: 'web', Labels: { … } }`. */
export function renderDefaultRule(source: string, data: Record<string, unknown>): string {
  return parseDefaultRuleTemplate(source).execute(data);
}
