/**
 * oxy's predicate language, which Traefik exposes in circuitBreaker.expression and buffering.retryExpression:
 * function calls with numeric arguments, numbers, comparisons (`<`, `<=`, `>`, `>=`, `==`, `!=`), `&&`, `||`,
 * parentheses, and a bare boolean function as a condition. Parsed once into a closure tree; evaluation reads
 * the subject it is given. The circuit breaker's functions: `NetworkErrorRatio()`,
 * `ResponseCodeRatio(from, to, dividedByFrom, dividedByTo)`, `LatencyAtQuantileMS(q)`.
 */
export interface BreakerMetrics {
  networkErrorRatio(): number;
  responseCodeRatio(from: number, to: number, dividedByFrom: number, dividedByTo: number): number;
  latencyAtQuantileMS(quantile: number): number;
}

export type Predicate<M> = (subject: M) => boolean;
export type Condition = Predicate<BreakerMetrics>;
type ValueExpr<M> = (subject: M) => number | boolean;

export interface PredicateFunction<M> {
  arity: number;
  build: (args: number[]) => ValueExpr<M>;
}

type Token = { kind: 'num'; value: number } | { kind: 'id'; value: string } | { kind: 'op'; value: string };

function tokenize(source: string, field: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||<=|>=|==|!=|<|>|\(|\)|,))/y;
  let pos = 0;
  while (pos < source.length) {
    if (/^\s*$/.test(source.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(source);
    if (!m) throw new Error(`${field}: unexpected "${source.slice(pos).trim()[0]}" at offset ${pos}`);
    if (m[1] !== undefined) tokens.push({ kind: 'num', value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ kind: 'id', value: m[2] });
    else tokens.push({ kind: 'op', value: m[3]! });
    pos = re.lastIndex;
  }
  return tokens;
}

const BREAKER_FUNCTIONS: Record<string, PredicateFunction<BreakerMetrics>> = {
  NetworkErrorRatio: { arity: 0, build: () => (m) => m.networkErrorRatio() },
  ResponseCodeRatio: { arity: 4, build: ([a, b, c, d]) => (m) => m.responseCodeRatio(a!, b!, c!, d!) },
  LatencyAtQuantileMS: { arity: 1, build: ([q]) => (m) => m.latencyAtQuantileMS(q!) },
};

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

export function parseCondition(source: string): Condition {
  return parsePredicate(source, BREAKER_FUNCTIONS, 'circuitBreaker.expression');
}

export function parsePredicate<M>(source: string, functions: Record<string, PredicateFunction<M>>, field: string): Predicate<M> {
  const tokens = tokenize(source, field);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const fail = (what: string): never => {
    throw new Error(`${field}: ${what} in "${source}"`);
  };
  const expectOp = (op: string): void => {
    const t = tokens[i];
    if (!t || t.kind !== 'op' || t.value !== op) fail(`expected "${op}"`);
    i++;
  };

  const value = (): ValueExpr<M> => {
    const t = tokens[i++];
    if (!t) return fail('unexpected end');
    if (t.kind === 'num') {
      const n = t.value;
      return () => n;
    }
    if (t.kind === 'id') {
      const fn = functions[t.value];
      if (!fn) return fail(`unknown function ${t.value}`);
      expectOp('(');
      const args: number[] = [];
      while (!(peek()?.kind === 'op' && peek()!.value === ')')) {
        const a = tokens[i++];
        if (!a || a.kind !== 'num') return fail(`${t.value} takes numbers`);
        args.push(a.value);
        if (peek()?.kind === 'op' && peek()!.value === ',') i++;
      }
      expectOp(')');
      if (args.length !== fn.arity) fail(`${t.value} takes ${fn.arity} arguments, got ${args.length}`);
      return fn.build(args);
    }
    return fail(`unexpected "${t.value}"`);
  };

  const comparison = (): Predicate<M> => {
    const t = peek();
    if (t?.kind === 'op' && t.value === '(') {
      i++;
      const inner = or();
      expectOp(')');
      return inner;
    }
    const left = value();
    const op = tokens[i];
    if (!op || op.kind !== 'op' || !COMPARE[op.value]) return (m) => Boolean(left(m));
    i++;
    const cmp = COMPARE[op.value]!;
    const right = value();
    return (m) => cmp(Number(left(m)), Number(right(m)));
  };

  const and = (): Predicate<M> => {
    let left = comparison();
    while (peek()?.kind === 'op' && peek()!.value === '&&') {
      i++;
      const l = left;
      const r = comparison();
      left = (m) => l(m) && r(m);
    }
    return left;
  };

  const or = (): Predicate<M> => {
    let left = and();
    while (peek()?.kind === 'op' && peek()!.value === '||') {
      i++;
      const l = left;
      const r = and();
      left = (m) => l(m) || r(m);
    }
    return left;
  };

  if (tokens.length === 0) fail('empty expression');
  const condition = or();
  if (i !== tokens.length) fail(`unexpected "${(tokens[i] as Token).value}"`);
  return condition;
}
