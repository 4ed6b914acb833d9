/**
 * Go's `Regexp.Expand` template language, which Traefik's replacePathRegex and redirectRegex hand their
 * `replacement` to through `ReplaceAllString` (golang/go src/regexp/regexp.go, `expand` and `extract`):
 *
 * - `$$` is a literal `$`;
 * - `$name` takes the LONGEST run of letters, digits and `_` as the name, so `$1x` means `${1x}` (a group named
 *   "1x", usually absent, hence empty) — write `${1}x` to follow group 1 with an x;
 * - `${name}` is explicit; a name that is all digits (without a leading zero, below 1e8) is a group number;
 * - a name no group has, or a group that did not take part in the match, expands to the empty string;
 * - a `$` not followed by a valid name (`$`, `$-`, `${`, `${1`) is kept as a literal `$`.
 *
 * The template is parsed once (per middleware), then expanded per match without re-reading it.
 */

/** A piece of a parsed template: literal text, a group by number, or a group by name. */
type Part = { kind: 'text'; text: string } | { kind: 'index'; index: number } | { kind: 'name'; name: string };

/** The groups of one match, as `FindStringSubmatch` gives them (undefined for a group that did not participate). */
export interface GoSubmatch {
  readonly groups: readonly (string | undefined)[];
  /** Go's `SubexpNames()`: index 0 and unnamed groups are "". */
  readonly names: readonly string[];
}

export interface GoTemplate {
  /** The template as written. */
  readonly source: string;
  /** True when the template refers to no group: expansion is the literal text (Go's fast path). */
  readonly literal: boolean;
  expand(match: GoSubmatch): string;
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** `extract` on the text after a `$`: the name, where the rest begins, or undefined when malformed. */
function extract(str: string, from: number): { name: string; end: number } | undefined {
  let i = from;
  const brace = str[i] === '{';
  if (brace) i++;
  const start = i;
  while (i < str.length) {
    const cp = str.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    // Go's unicode.IsDigit is any decimal digit (Nd), unicode.IsLetter any letter (L).
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return undefined;
  const name = str.slice(start, i);
  if (brace) {
    if (str[i] !== '}') return undefined;
    i++;
  }
  return { name, end: i };
}

/** A group number when `name` is one: ASCII digits, no leading zero, below 1e8 (as Go's `extract`). */
function groupNumber(name: string): number | undefined {
  if (!/^[0-9]+$/.test(name) || (name.length > 1 && name[0] === '0') || name.length > 8) return undefined;
  return Number(name);
}

export function compileGoTemplate(source: string): GoTemplate {
  const parts: Part[] = [];
  let text = '';
  const flush = () => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  let i = 0;
  while (i < source.length) {
    const dollar = source.indexOf('$', i);
    if (dollar < 0) {
      text += source.slice(i);
      break;
    }
    text += source.slice(i, dollar);
    if (source[dollar + 1] === '$') {
      text += '$';
      i = dollar + 2;
      continue;
    }
    const ref = extract(source, dollar + 1);
    if (ref === undefined) {
      text += '$'; // malformed: the `$` is literal text
      i = dollar + 1;
      continue;
    }
    flush();
    const index = groupNumber(ref.name);
    parts.push(index === undefined ? { kind: 'name', name: ref.name } : { kind: 'index', index });
    i = ref.end;
  }
  flush();
  const literal = parts.every((p) => p.kind === 'text');
  const literalText = literal ? parts.map((p) => (p as { text: string }).text).join('') : '';
  return {
    source,
    literal,
    expand(match: GoSubmatch): string {
      if (literal) return literalText;
      let out = '';
      for (const part of parts) {
        if (part.kind === 'text') out += part.text;
        else if (part.kind === 'index') out += match.groups[part.index] ?? '';
        else {
          // The first group of that name that took part in the match (Go's loop over SubexpNames breaks there).
          for (let g = 1; g < match.names.length; g++) {
            if (match.names[g] === part.name && match.groups[g] !== undefined) {
              out += match.groups[g];
              break;
            }
          }
        }
      }
      return out;
    },
  };
}
