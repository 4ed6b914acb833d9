/**
 * Go's `regexp` (RE2 syntax, leftmost-first semantics, linear-time matching) for every user-supplied pattern,
 * built on `re2js`, a pure-JavaScript port of Go's and RE2/J's engine: the pattern is parsed by the port of Go's
 * `regexp/syntax`, so what Go accepts and rejects, and the error texts, are Go's; matching runs on a DFA or NFA
 * whose time grows linearly with the input whatever the pattern — `(a+)+$` on 30 `a`s and a `!` is microseconds,
 * where a backtracking JavaScript RegExp takes minutes.
 *
 * The methods are named and behave as their Go counterparts (golang/go src/regexp/regexp.go): `MatchString`
 * (an unanchored search), `FindStringSubmatchIndex`, `FindStringSubmatch`, `ReplaceAllString` with `Expand`
 * templates. Positions are UTF-16 code-unit indexes of the JavaScript string, not Go's UTF-8 byte offsets.
 */
import { RE2JS, RE2JSException } from 're2js';
import { ErrRegexpSyntax } from './errors.ts';
import { compileGoTemplate, type GoTemplate } from './template.ts';

export interface GoRegexpOptions {
  /** Case-insensitive, as a leading `(?i)` would make it (for matching Node's lower-cased header names). */
  readonly caseInsensitive?: boolean;
}

export class GoRegexp {
  /** The pattern as written. */
  readonly source: string;
  /** Number of capturing groups (Go's `NumSubexp`). */
  readonly numSubexp: number;
  /** Go's `SubexpNames()`: index 0 is the whole match, "" for unnamed groups. */
  readonly subexpNames: readonly string[];
  readonly #re: RE2JS;

  constructor(source: string, re: RE2JS) {
    this.source = source;
    this.#re = re;
    // re2js runs an anchored pattern (`^svc\.example\.com$`, the usual HostRegexp) on its one-pass engine even
    // when no group is wanted, at about half the speed of its lazy DFA (measured with bench/gateway/rules.bench.ts).
    // Without the one-pass program `test` takes the DFA and captures take the bit-state backtracker or the NFA;
    // every engine gives the same leftmost-first answer in linear time, so only speed changes. `onepass` is an
    // internal field: if a re2js release renames it, this assignment does nothing and matching stays correct.
    (re.re2() as unknown as { onepass: unknown }).onepass = null;
    this.numSubexp = re.groupCount();
    const names: string[] = new Array<string>(this.numSubexp + 1).fill('');
    for (const [name, index] of Object.entries(re.namedGroups())) names[index] = name;
    this.subexpNames = names;
  }

  /** Go's `MatchString`: whether the pattern matches anywhere in `s`. */
  test(s: string): boolean {
    return this.#re.test(s);
  }

  /**
   * Go's `FindStringSubmatchIndex` from position `from` (the text before `from` still counts for `^`, `\b`):
   * [start0, end0, start1, end1, …] with -1 for a group that did not take part, or null when there is no match.
   */
  findSubmatchIndex(s: string, from = 0): number[] | null {
    const m = this.#re.matcher(s);
    if (!m.find(from)) return null;
    const out: number[] = [];
    for (let g = 0; g <= this.numSubexp; g++) out.push(m.start(g), m.end(g));
    return out;
  }

  /** Go's `FindStringSubmatch`: the match and its groups (undefined for a group that did not take part), or null. */
  findSubmatch(s: string): (string | undefined)[] | null {
    const loc = this.findSubmatchIndex(s);
    return loc === null ? null : groupsOf(s, loc);
  }

  /**
   * Go's `ReplaceAllString`: every non-overlapping match replaced by the template expanded for it (`$1`, `${name}`,
   * `$$` — see template.ts). As in Go, an empty match right after a previous match is not replaced, and the search
   * always moves on by at least one character.
   */
  replaceAllString(src: string, template: string | GoTemplate): string {
    const tpl = typeof template === 'string' ? compileGoTemplate(template) : template;
    let out = '';
    let lastMatchEnd = 0;
    let searchPos = 0;
    const m = this.#re.matcher(src);
    while (searchPos <= src.length) {
      if (!m.find(searchPos)) break;
      const start = m.start(0);
      const end = m.end(0);
      out += src.slice(lastMatchEnd, start);
      if (end > lastMatchEnd || start === 0) {
        if (tpl.literal) out += tpl.expand({ groups: [], names: [] });
        else {
          const loc: number[] = [];
          for (let g = 0; g <= this.numSubexp; g++) loc.push(m.start(g), m.end(g));
          out += tpl.expand({ groups: groupsOf(src, loc), names: this.subexpNames });
        }
      }
      lastMatchEnd = end;
      // Advance past this match; always advance at least one character (a whole code point, as Go a whole rune).
      const width = searchPos < src.length ? (src.codePointAt(searchPos)! > 0xffff ? 2 : 1) : 1;
      if (searchPos + width > end) searchPos += width;
      else if (searchPos + 1 > end) searchPos++;
      else searchPos = end;
    }
    return out + src.slice(lastMatchEnd);
  }

  toString(): string {
    return this.source;
  }
}

function groupsOf(s: string, loc: readonly number[]): (string | undefined)[] {
  const groups: (string | undefined)[] = [];
  for (let i = 0; i < loc.length; i += 2) groups.push(loc[i]! < 0 ? undefined : s.slice(loc[i], loc[i + 1]));
  return groups;
}

/**
 * Compiles a Go regexp. Throws `ErrRegexpSyntax` (MG_REGEXP_SYNTAX, 400) with Go's own message
 * ("error parsing regexp: invalid escape sequence: `\1`") for anything Go's `regexp.Compile` rejects.
 */
export function compileGoRegexp(pattern: string, options: GoRegexpOptions = {}): GoRegexp {
  try {
    return new GoRegexp(pattern, RE2JS.compile(pattern, options.caseInsensitive === true ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (err) {
    if (err instanceof RE2JSException) throw ErrRegexpSyntax(err.message);
    throw err;
  }
}
