/**
 * Just enough of Go's text/template and Helm's functions to render the generated chart in a test, because Helm is
 * not installable here: actions with `{{-` / `-}}` trimming, comments, `if`/`range`/`end`, `$var :=`, pipelines with
 * `|`, fields (`.Values.a.b`, `.Release.Namespace`, `$cert.Cert`, `.`), string and number literals, parentheses, and
 * the functions the chart uses — `toJson`, `quote`, `printf` (%s), `not`, `and`, `list`, `toString`, `b64enc`,
 * `genCA`, `genSignedCert` (deterministic stand-ins: the test checks where their output goes, not the crypto).
 * Anything else throws, so the chart cannot quietly start depending on an untested construct.
 */

type Value = unknown;
interface Scope { dot: Value; vars: Map<string, Value> }
type Node =
  | { t: 'text'; text: string }
  | { t: 'out'; expr: string }
  | { t: 'set'; name: string; expr: string }
  | { t: 'if' | 'range'; expr: string; body: Node[] };

function parse(source: string): Node[] {
  const pieces: Array<{ text: string } | { action: string }> = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1]) text = text.replace(/\s+$/, '');
    pieces.push({ text });
    pieces.push({ action: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  pieces.push({ text: trimNext ? source.slice(last).replace(/^\s+/, '') : source.slice(last) });
  const root: Node[] = [];
  const stack: Node[][] = [root];
  for (const piece of pieces) {
    const into = stack.at(-1)!;
    if ('text' in piece) {
      if (piece.text) into.push({ t: 'text', text: piece.text });
      continue;
    }
    const action = piece.action;
    if (action.startsWith('/*')) continue;
    const block = /^(if|range)\s+([\s\S]+)$/.exec(action);
    const assign = /^\$(\w+)\s*:=\s*([\s\S]+)$/.exec(action);
    if (block) {
      const node: Node = { t: block[1] as 'if' | 'range', expr: block[2]!, body: [] };
      into.push(node);
      stack.push(node.body);
    } else if (action === 'end') {
      if (stack.length === 1) throw new Error('unexpected {{ end }}');
      stack.pop();
    } else if (assign) into.push({ t: 'set', name: assign[1]!, expr: assign[2]! });
    else if (/^(else|with|define|template|include|block)\b/.test(action)) throw new Error(`not supported here: {{ ${action} }}`);
    else into.push({ t: 'out', expr: action });
  }
  if (stack.length !== 1) throw new Error('missing {{ end }}');
  return root;
}

function tokenize(expr: string): string[] {
  return expr.match(/"(?:\\.|[^"\\])*"|\(|\)|\||[^\s()|]+/g) ?? [];
}

const truthy = (v: Value): boolean => !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0));
const text = (v: Value): string => (v === undefined || v === null ? '<no value>' : typeof v === 'object' ? JSON.stringify(v) : String(v as string | number | boolean));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  toJson: (v) => JSON.stringify(v ?? null),
  quote: (v) => JSON.stringify(text(v)),
  toString: (v: Value) => text(v),
  not: (v) => !truthy(v),
  and: (...vs) => vs.find((v) => !truthy(v)) ?? vs.at(-1),
  list: (...vs) => vs,
  b64enc: (v) => b64(text(v)),
  printf: (format, ...args) => String(format).replace(/%s/g, () => text(args.shift())),
  genCA: (cn) => ({ Cert: `CA:${text(cn)}`, Key: 'CA-KEY' }),
  genSignedCert: (cn, _ips, names) => ({ Cert: `LEAF:${text(cn)}:${(names as string[]).join(',')}`, Key: `LEAF-KEY:${text(cn)}` }),
};

function evaluate(expr: string, scope: Scope): Value {
  const tokens = tokenize(expr);
  let i = 0;
  const operand = (token: string): Value => {
    if (token.startsWith('"')) return JSON.parse(token);
    if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
    if (token === 'nil') return null;
    if (token === 'true' || token === 'false') return token === 'true';
    if (token === '.') return scope.dot;
    const [head, ...fields] = token.split('.');
    let value: Value = head === '' ? scope.dot : head!.startsWith('$') ? scope.vars.get(head!.slice(1)) : undefined;
    if (head !== '' && !head!.startsWith('$')) throw new Error(`unknown operand ${token}`);
    for (const f of fields) value = (value as Record<string, Value> | undefined)?.[f];
    return value;
  };
  const command = (piped: Value[]): Value => {
    const args: Value[] = [];
    let fn: string | undefined;
    while (i < tokens.length && tokens[i] !== '|' && tokens[i] !== ')') {
      const token = tokens[i++]!;
      if (token === '(') {
        args.push(pipeline());
        i++; // ')'
      } else if (args.length === 0 && fn === undefined && FUNCTIONS[token]) fn = token;
      else args.push(operand(token));
    }
    if (fn === undefined) {
      if (args.length !== 1 || piped.length) throw new Error(`not a command: ${expr}`);
      return args[0];
    }
    return FUNCTIONS[fn]!(...args, ...piped);
  };
  const pipeline = (): Value => {
    let value = command([]);
    while (tokens[i] === '|') {
      i++;
      value = command([value]);
    }
    return value;
  };
  return pipeline();
}

function run(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const node of nodes) {
    if (node.t === 'text') out += node.text;
    else if (node.t === 'out') out += text(evaluate(node.expr, scope));
    else if (node.t === 'set') scope.vars.set(node.name, evaluate(node.expr, scope));
    else if (node.t === 'if') out += truthy(evaluate(node.expr, scope)) ? run(node.body, scope) : '';
    else for (const item of (evaluate(node.expr, scope) as Value[] | null) ?? []) out += run(node.body, { ...scope, dot: item });
  }
  return out;
}

/** Renders a template with `.Values` and `.Release.Namespace` as Helm would give them. */
export function renderTemplate(source: string, values: Value, namespace: string): string {
  const root = { Values: values, Release: { Namespace: namespace, Name: 'test', Service: 'Helm' } };
  return run(parse(source), { dot: root, vars: new Map() });
}

/** What the stand-in genCA/genSignedCert produce for the webhook's certificate, base64 as the objects carry it. */
export function fakeWebhookTls(service: string, namespace: string): { caBundle: string; cert: string; key: string } {
  const svc = `${service}.${namespace}.svc`;
  return { caBundle: b64(`CA:${service}-ca`), cert: b64(`LEAF:${service}:${[service, `${service}.${namespace}`, svc, `${svc}.cluster.local`].join(',')}`), key: b64(`LEAF-KEY:${service}`) };
}
