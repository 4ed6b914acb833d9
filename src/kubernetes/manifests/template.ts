/**
 * How one set of object builders produces both outputs: `meshgate k8s manifests` calls them with real values; the
 * Helm chart generator calls them with *template values* — the same shape, each leaf replaced by a marked Helm
 * expression (`‹{{ .Values.server.replicas }}›`) — and turns the markers in the YAML into template text. So the
 * chart is a function of the builders and cannot drift from the command (a test regenerates it and compares).
 *
 * What keeps this honest: a builder treats values as opaque leaves — it may put a value in a field or inside a
 * string, but never branches on it. What depends on a value goes through the helpers here, each of which has a
 * Helm form: a whole file's condition (`when`, see files.ts), `repeatFlag` (one argument per list item, a Helm
 * `range`), `optionalFlag` and `switchFlag` (an argument present only when the value is set, a Helm `if`), `not`.
 */
const OPEN = '\u2039'; // ‹
const CLOSE = '\u203a'; // ›
const LINE = '\u00a7LINE:'; // a list item that becomes template lines
const NL = '\u00b6'; // a line break inside a LINE item, so the YAML writer keeps the item on one line

/** A marked Helm expression for the template values. */
export function helmExpr(expression: string): string {
  return `${OPEN}{{ ${expression} }}${CLOSE}`;
}

function isMarked(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(`${OPEN}{{ `) && value.endsWith(` }}${CLOSE}`) && value.indexOf(CLOSE) === value.length - 1;
}

function expressionOf(marked: string): string {
  return marked.slice(OPEN.length + 3, -(CLOSE.length + 3));
}

/** `flag=item` for each item; in the chart, a `range` over the list. */
export function repeatFlag(flag: string, list: readonly string[] | string): string[] {
  if (isMarked(list)) return [`${LINE}{{- range ${expressionOf(list)} }}${NL}- {{ printf "%s=%s" ${JSON.stringify(flag)} . | quote }}${NL}{{- end }}`];
  return (list as readonly string[]).map((item) => `${flag}=${item}`);
}

/** `flag=value` when the value is non-empty; in the chart, an `if`. */
export function optionalFlag(flag: string, value: string | null): string[] {
  if (isMarked(value)) {
    const expr = expressionOf(value);
    return [`${LINE}{{- if ${expr} }}${NL}- {{ printf "%s=%s" ${JSON.stringify(flag)} (${expr} | toString) | quote }}${NL}{{- end }}`];
  }
  return value ? [`${flag}=${value}`] : [];
}

/** `flag` alone when the value is true (a commander switch that takes no argument); in the chart, an `if`. */
export function switchFlag(flag: string, value: boolean): string[] {
  if (isMarked(value)) return [`${LINE}{{- if ${expressionOf(value)} }}${NL}- ${JSON.stringify(flag)}${NL}{{- end }}`];
  return value ? [flag] : [];
}

/** The negation of a boolean value; in the chart, `not`. */
export function not(value: boolean): boolean {
  if (isMarked(value)) return helmExpr(`not ${expressionOf(value)}`) as unknown as boolean;
  return !value;
}

/**
 * The template values of a values object: its shape with each leaf `‹{{ .Values.<path> }}›`. Objects are walked;
 * everything else (strings, numbers, booleans, lists, null) is a leaf.
 */
export function templateValues<T>(defaults: T): T {
  const walk = (value: unknown, path: string[]): unknown => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    return helmExpr(`.Values.${path.join('.')}`);
  };
  return walk(defaults, []) as T;
}

/**
 * Rewrites the YAML of objects built from template values into Helm template text:
 * - a scalar that is exactly one marker, quoted or not, becomes `{{ X | toJson }}` — a string stays a string
 *   (`"1.0"` is not read as a number), a number or boolean keeps its type, a list or null is written as JSON,
 *   which YAML reads; inside JSON text (a ConfigMap's config file) the same holds;
 * - a marker inside a longer string is spliced in as it is (`"{{ .Values.global.name }}-server"`);
 * - a `§LINE:` list item is replaced by its template lines at the item's indentation.
 */
export function toHelmTemplate(yamlText: string): string {
  const lines = yamlText.split('\n').flatMap((line) => {
    const at = line.indexOf(LINE);
    if (at < 0) return [line];
    const indent = line.match(/^(\s*)-/)?.[1] ?? '';
    const quote = line.charAt(at - 1);
    let raw = line.slice(at + LINE.length);
    if (quote === '"') raw = JSON.parse(`"${raw.slice(0, -1)}"`) as string;
    else if (quote === "'") raw = raw.slice(0, -1).replaceAll("''", "'");
    return raw.split(NL).map((l) => (l.startsWith('{{-') ? l : `${indent}${l}`));
  });
  const whole = new RegExp(`(["']?)${OPEN}\\{\\{ ([^${CLOSE}]*?) \\}\\}${CLOSE}\\1(?=,?$)`);
  const marker = new RegExp(`${OPEN}(\\{\\{ [^${CLOSE}]*? \\}\\})${CLOSE}`, 'g');
  return lines
    .map((line) => {
      // Whole scalar: after "key: ", "- ", or a JSON `"key": ` — the marker is the value and ends the line.
      const m = line.match(whole);
      if (m && /(^\s*- |: )$/.test(line.slice(0, m.index))) {
        return `${line.slice(0, m.index)}{{ ${m[2]} | toJson }}${line.slice(m.index! + m[0].length)}`;
      }
      return line;
    })
    .map((line) => line.replace(marker, '$1'))
    .join('\n');
}
