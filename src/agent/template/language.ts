/**
 * The agent's small template language: Go text/template's syntax for the part consul-template users write most.
 *   {{ key "app/config/port" }}                 a KV value (rendering waits until the key exists)
 *   {{ keyOrDefault "app/flag" "off" }}         a KV value, or the default while the key is absent
 *   {{ range ls "app/hosts" }}{{ .Key }}={{ .Value }}{{ end }}     direct children of a prefix
 *   {{ range tree "app" }}{{ .Key }}{{ end }}   every key below a prefix (Key relative to it)
 *   {{ range service "web" }}{{ .Address }}:{{ .Port }}{{ else }}none{{ end }}   passing instances
 *   {{ if keyExists "app/on" }}…{{ else }}…{{ end }}, {{ .Field }}, {{ . }}, comments ({{/* … *\/}}), {{- and -}} trim
 * Parsing is separate from rendering so a template with a syntax error is refused when it is loaded, naming the
 * line; nothing else of text/template (pipes, variables, other functions) is accepted.
 */
import { AgentErrors } from '../errors.ts';

export type Arg = { kind: 'string'; value: string } | { kind: 'field'; path: string[] };
export type Expr = { kind: 'call'; fn: FunctionName; args: Arg[] } | { kind: 'field'; path: string[] } | { kind: 'string'; value: string };
export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; expr: Expr; line: number }
  | { kind: 'range' | 'if'; expr: Expr; body: Node[]; elseBody: Node[]; line: number };

export const FUNCTIONS = { key: 1, keyOrDefault: 2, keyExists: 1, ls: 1, tree: 1, service: 1 } as const;
export type FunctionName = keyof typeof FUNCTIONS;

interface Token { kind: 'text'; text: string; line: number }
interface Action { kind: 'action'; body: string; line: number }

export function parseTemplate(text: string, name: string): Node[] {
  const items = lex(text, name);
  let pos = 0;
  const parseList = (closers: readonly string[]): { nodes: Node[]; closer: string | undefined } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++]!;
      if (item.kind === 'text') {
        if (item.text !== '') nodes.push({ kind: 'text', text: item.text });
        continue;
      }
      const body = item.body;
      if (body.startsWith('/*')) continue;
      const word = body.split(/\s+/, 1)[0]!;
      if (word === 'end' || word === 'else') {
        if (body !== word) throw AgentErrors.template(name, `line ${item.line}: unexpected "${body}"`);
        if (!closers.includes(word)) throw AgentErrors.template(name, `line ${item.line}: unexpected {{${word}}}`);
        return { nodes, closer: word };
      }
      if (word === 'range' || word === 'if') {
        const expr = parseExpr(body.slice(word.length).trim(), name, item.line);
        const first = parseList(['end', 'else']);
        let elseBody: Node[] = [];
        if (first.closer === 'else') {
          const second = parseList(['end']);
          if (second.closer !== 'end') throw AgentErrors.template(name, `line ${item.line}: {{${word}}} without {{end}}`);
          elseBody = second.nodes;
        } else if (first.closer !== 'end') throw AgentErrors.template(name, `line ${item.line}: {{${word}}} without {{end}}`);
        nodes.push({ kind: word, expr, body: first.nodes, elseBody, line: item.line });
        continue;
      }
      nodes.push({ kind: 'output', expr: parseExpr(body, name, item.line), line: item.line });
    }
    return { nodes, closer: undefined };
  };
  const { nodes, closer } = parseList([]);
  if (closer !== undefined) throw AgentErrors.template(name, `unexpected {{${closer}}}`);
  return nodes;
}

/** Splits the text into literal text and `{{ … }}` actions, applying `{{-` / `-}}` trimming. */
function lex(text: string, name: string): Array<Token | Action> {
  const out: Array<Token | Action> = [];
  let pos = 0;
  let line = 1;
  let trimNext = false;
  while (pos <= text.length) {
    const open = text.indexOf('{{', pos);
    let literal = open === -1 ? text.slice(pos) : text.slice(pos, open);
    if (trimNext) literal = literal.replace(/^\s+/, '');
    const trimPrev = open !== -1 && text[open + 2] === '-' && /\s/.test(text[open + 3] ?? '');
    if (trimPrev) literal = literal.replace(/\s+$/, '');
    out.push({ kind: 'text', text: literal, line });
    if (open === -1) break;
    line += countLines(text.slice(pos, open));
    const bodyStart = open + (trimPrev ? 3 : 2);
    const close = findClose(text, bodyStart);
    if (close === -1) throw AgentErrors.template(name, `line ${line}: unclosed action`);
    let body = text.slice(bodyStart, close);
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    out.push({ kind: 'action', body: body.trim(), line });
    line += countLines(text.slice(open, close + 2));
    pos = close + 2;
  }
  return out;
}

/** The `}}` ending an action, skipping over string literals and comments. */
function findClose(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) return -1;
      i = end + 2;
      continue;
    }
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (text.startsWith('}}', i)) return i;
    i++;
  }
  return -1;
}

function countLines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}

function parseExpr(src: string, name: string, line: number): Expr {
  const words = splitWords(src, name, line);
  if (words.length === 0) throw AgentErrors.template(name, `line ${line}: empty action`);
  const head = words[0]!;
  if (head.kind === 'field' || head.kind === 'string') {
    if (words.length > 1) throw AgentErrors.template(name, `line ${line}: a ${head.kind} takes no arguments`);
    return head;
  }
  if (!Object.hasOwn(FUNCTIONS, head.value)) throw AgentErrors.template(name, `line ${line}: function "${head.value}" not defined`);
  const fn = head.value as FunctionName;
  const args = words.slice(1).map((w): Arg => {
    if (w.kind === 'ident') throw AgentErrors.template(name, `line ${line}: nested calls are not supported (${w.value})`);
    return w;
  });
  if (args.length !== FUNCTIONS[fn]) throw AgentErrors.template(name, `line ${line}: wrong number of args for ${fn}: want ${FUNCTIONS[fn]} got ${args.length}`);
  return { kind: 'call', fn, args };
}

type Word = Arg | { kind: 'ident'; value: string };

function splitWords(src: string, name: string, line: number): Word[] {
  const out: Word[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw AgentErrors.template(name, `line ${line}: unterminated string`);
      try {
        out.push({ kind: 'string', value: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        throw AgentErrors.template(name, `line ${line}: invalid string ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else {
      const m = /^[^\s"]+/.exec(src.slice(i))![0];
      if (m === '.') out.push({ kind: 'field', path: [] });
      else if (/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(m)) out.push({ kind: 'field', path: m.slice(1).split('.') });
      else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(m)) out.push({ kind: 'ident', value: m });
      else throw AgentErrors.template(name, `line ${line}: unexpected "${m}"`);
      i += m.length;
    }
  }
  return out;
}
