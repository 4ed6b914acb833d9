/**
 * Go RE2 syntax → JS RegExp. Traefik compiles matcher regexps with Go's `regexp.Compile` and calls `MatchString`,
 * i.e. an unanchored search: the translation keeps that (no implicit anchors, no `g`/`y` flags, so `test` has no
 * state). Only RE2 is accepted — backreferences and lookarounds are errors here as they are in Go — so a translated
 * pattern never backtracks into the catastrophic cases RE2 forbids by construction less than a hand-written JS one.
 *
 * Where the two dialects differ in meaning, the Go meaning is written out explicitly:
 *  - `.` is "any character but \n" (JS also excludes \r, U+2028, U+2029), `(?s)` makes it any character;
 *  - `\d \w \s` are ASCII-only in Go (`\s` is `[\t\n\f\r ]`, no \v); written as explicit classes;
 *  - `(?m)` `^`/`$` react to \n only; `\A`, `\z` are the text's ends;
 *  - inline flags `(?i)`, `(?i:…)`, `(?-i)` become JS modifier groups; `(?U)` swaps greedy and lazy;
 *  - POSIX classes `[[:alpha:]]`, Unicode classes `\pL`, `\p{Greek}`, `\x{10FFFF}`, octal escapes, `\Q…\E`;
 *  - a `{` that does not start a repeat is a literal, as Go reads it.
 * The result is compiled with the `u` flag (Go matches runes, not UTF-16 code units).
 */

export class GoRegexpError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'GoRegexpError';
    this.offset = offset;
  }
}

type Range = [number, number];
const MAX_RUNE = 0x10ffff;

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

/** Unicode general categories Go knows by their short names; anything else after \p is a script name. */
const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

function complement(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function hexEscape(cp: number): string {
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
}

function rangesToClassBody(ranges: Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? hexEscape(lo) : `${hexEscape(lo)}-${hexEscape(hi)}`)).join('');
}

/** A literal code point, written so that it means itself both inside and outside a class under the `u` flag. */
function literal(cp: number): string {
  const isAsciiAlnum = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  if (isAsciiAlnum || cp > 0x7f) return String.fromCodePoint(cp);
  if (cp === 0x20 || cp === 0x5f) return String.fromCodePoint(cp);
  return hexEscape(cp);
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

interface Frame {
  /** Flags in force when the group opened (restored when it closes). */
  saved: Flags;
  /** Flags at the start of the group's body (after its own `(?i:` if any): what a `|` starts from. */
  base: Flags;
  /** Modifier groups opened by `(?i)` inside this group, to close at `|` and at the group's end. */
  pendingClosers: number;
}

class Translator {
  private readonly src: string;
  private pos = 0;
  private out = '';
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private readonly stack: Frame[] = [];
  private top: Frame = { saved: { i: false, m: false, s: false, U: false }, base: { i: false, m: false, s: false, U: false }, pendingClosers: 0 };
  /** Whether the last thing emitted can take a repetition operator, and whether it already has one. */
  private atom = false;
  private repeated = false;
  /** The last repetition operator as written, for Go's "invalid nested repetition operator: `**`". */
  private lastRepeat = '';

  constructor(src: string) {
    this.src = src;
  }

  private err(msg: string, at = this.pos): GoRegexpError {
    return new GoRegexpError(`error parsing regexp: ${msg}`, at);
  }

  private cp(at: number): number {
    return this.src.codePointAt(at)!;
  }

  translate(): string {
    const s = this.src;
    while (this.pos < s.length) {
      const c = this.cp(this.pos);
      const ch = String.fromCodePoint(c);
      switch (ch) {
        case '(':
          this.openGroup();
          break;
        case ')':
          this.closeGroup();
          break;
        case '|':
          this.pos++;
          this.closePending();
          this.out += '|';
          this.reopenPending();
          this.atom = false;
          this.repeated = false;
          break;
        case '*':
        case '+':
        case '?':
          this.repeat(ch, this.pos + 1);
          break;
        case '{': {
          const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(this.pos));
          if (m === null) {
            this.emitAtom('\\{', 1);
            break;
          }
          const min = Number(m[1]);
          const max = m[3] === undefined || m[3] === '' ? (m[2] === undefined ? min : -1) : Number(m[3]);
          if (min > 1000 || max > 1000 || (max >= 0 && max < min)) throw this.err(`invalid repeat count: \`${m[0]}\``);
          this.repeat(m[0], this.pos + m[0].length);
          break;
        }
        case '[':
          this.charClass();
          break;
        case '.':
          this.emitAtom(this.flags.s ? '[\\s\\S]' : '[^\\n]', 1);
          break;
        case '^':
          this.emitAssertion(this.flags.m ? '(?<![^\\n])' : '^', 1);
          break;
        case '$':
          this.emitAssertion(this.flags.m ? '(?![^\\n])' : '$', 1);
          break;
        case '\\':
          this.escape();
          break;
        default:
          this.emitAtom(literal(c), ch.length);
      }
    }
    if (this.stack.length > 0) throw this.err(`missing closing ): \`${s}\``, s.length);
    this.closePending();
    return this.out;
  }

  private emitAtom(text: string, consumed: number): void {
    this.out += text;
    this.pos += consumed;
    this.atom = true;
    this.repeated = false;
  }

  /** Go lets assertions take a repeat (`^*`); JS does not: wrap them in a group so the output stays valid. */
  private emitAssertion(text: string, consumed: number): void {
    this.emitAtom(`(?:${text})`, consumed);
  }

  private repeat(op: string, end: number): void {
    const opStart = this.pos;
    let lazy = false;
    if (this.src[end] === '?') {
      lazy = true;
      end++;
    }
    const written = this.src.slice(opStart, end);
    if (!this.atom) throw this.err(`missing argument to repetition operator: \`${written}\``, opStart);
    if (this.repeated) throw this.err(`invalid nested repetition operator: \`${this.lastRepeat}${written}\``, opStart);
    if (this.flags.U) lazy = !lazy;
    this.out += op + (lazy ? '?' : '');
    this.pos = end;
    this.repeated = true;
    this.lastRepeat = written;
  }

  private openGroup(): void {
    const s = this.src;
    const start = this.pos;
    if (s[start + 1] !== '?') {
      this.pushFrame();
      this.out += '(';
      this.pos++;
      return;
    }
    // Named capture: (?P<name>re) or (?<name>re). Names do not matter for matching; keep a plain group.
    const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(s.slice(start));
    if (named !== null) {
      this.pushFrame();
      this.out += '(';
      this.pos += named[0].length;
      return;
    }
    const flagsMatch = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(s.slice(start));
    if (flagsMatch === null || (flagsMatch[2] !== undefined && flagsMatch[2] === '') || (flagsMatch[1] === '' && flagsMatch[2] === undefined && flagsMatch[3] === ')')) {
      const bad = s.slice(start, Math.min(s.length, start + 3));
      throw this.err(`invalid or unsupported Perl syntax: \`${bad}\``, start);
    }
    const next: Flags = { ...this.flags };
    for (const f of flagsMatch[1]!) next[f as keyof Flags] = true;
    for (const f of flagsMatch[2] ?? '') next[f as keyof Flags] = false;
    this.pos += flagsMatch[0].length;
    if (flagsMatch[3] === ':') {
      this.pushFrame();
      this.out += next.i === this.flags.i ? '(?:' : next.i ? '(?i:' : '(?-i:';
      this.flags = next;
      this.top.base = { ...next };
      return;
    }
    // (?flags) — in force until the end of the current group, across later alternatives.
    if (next.i !== this.flags.i) {
      this.out += next.i ? '(?i:' : '(?-i:';
      this.top.pendingClosers++;
    }
    this.flags = next;
  }

  private pushFrame(): void {
    this.stack.push(this.top);
    this.top = { saved: { ...this.flags }, base: { ...this.flags }, pendingClosers: 0 };
    this.atom = false;
    this.repeated = false;
  }

  private closePending(): void {
    this.out += ')'.repeat(this.top.pendingClosers);
  }

  /** After `|`, re-open the modifier groups so `(?i)` keeps covering the following alternatives. */
  private reopenPending(): void {
    if (this.top.pendingClosers === 0) return;
    const outer = this.top.base.i;
    // A single modifier group at the current state is enough to reproduce the flags in force.
    this.top.pendingClosers = 0;
    if (this.flags.i !== outer) {
      this.out += this.flags.i ? '(?i:' : '(?-i:';
      this.top.pendingClosers = 1;
    }
  }

  private closeGroup(): void {
    if (this.stack.length === 0) throw this.err(`unexpected ): \`${this.src}\``);
    this.closePending();
    this.flags = this.top.saved;
    this.top = this.stack.pop()!;
    this.out += ')';
    this.pos++;
    this.atom = true;
    this.repeated = false;
  }

  /** Reads an escape at this.pos. Returns a class body (for classes) or an atom (outside), or an assertion. */
  private escape(): void {
    const r = this.readEscape(false);
    if (r.kind === 'assert') this.emitAssertion(r.text, r.consumed);
    else if (r.kind === 'literalRun') {
      // \Q…\E: each character a literal atom; only the last one takes a following repeat (as in Go).
      for (let k = 0; k < r.cps.length; k++) this.emitAtom(literal(r.cps[k]!), k === r.cps.length - 1 ? r.consumed : 0);
      if (r.cps.length === 0) this.pos += r.consumed;
    } else this.emitAtom(r.text, r.consumed);
  }

  private readEscape(inClass: boolean):
    | { kind: 'atom'; text: string; consumed: number; cp?: number; classBody: string }
    | { kind: 'assert'; text: string; consumed: number }
    | { kind: 'literalRun'; cps: number[]; consumed: number } {
    const s = this.src;
    const start = this.pos;
    if (start + 1 >= s.length) throw this.err('trailing backslash at end of expression', start);
    const c = this.cp(start + 1);
    const ch = String.fromCodePoint(c);
    const lit = (cp: number, consumed: number) => ({ kind: 'atom' as const, text: literal(cp), consumed, cp, classBody: literal(cp) });
    const cls = (ranges: Range[], consumed: number) => {
      const body = rangesToClassBody(ranges);
      return { kind: 'atom' as const, text: `[${body}]`, consumed, classBody: body };
    };
    switch (ch) {
      case 'd':
      case 's':
      case 'w':
        return cls(PERL_CLASSES[ch]!, 2);
      case 'D':
      case 'S':
      case 'W':
        return cls(complement(PERL_CLASSES[ch.toLowerCase()]!), 2);
      case 'a':
        return lit(0x07, 2);
      case 'f':
        return lit(0x0c, 2);
      case 't':
        return lit(0x09, 2);
      case 'n':
        return lit(0x0a, 2);
      case 'r':
        return lit(0x0d, 2);
      case 'v':
        return lit(0x0b, 2);
      case 'x': {
        const braced = /^\\x\{([0-9A-Fa-f]+)\}/.exec(s.slice(start));
        if (braced !== null) {
          const cp = parseInt(braced[1]!, 16);
          if (cp > MAX_RUNE) throw this.err(`invalid escape sequence: \`${braced[0]}\``, start);
          return lit(cp, braced[0].length);
        }
        const two = /^\\x([0-9A-Fa-f]{2})/.exec(s.slice(start));
        if (two === null) throw this.err(`invalid escape sequence: \`${s.slice(start, start + 4)}\``, start);
        return lit(parseInt(two[1]!, 16), 4);
      }
      case 'p':
      case 'P': {
        const m = /^\\[pP](?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(s.slice(start));
        if (m === null) throw this.err(`invalid character class range: \`${s.slice(start, start + 3)}\``, start);
        const name = m[2] ?? m[3]!;
        let negate = ch === 'P';
        if (m[1] === '^') negate = !negate;
        const prop = name === 'Any' ? 'Any' : GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
        const text = `\\${negate ? 'P' : 'p'}{${prop}}`;
        try {
          new RegExp(text, 'u');
        } catch {
          throw this.err(`invalid character class range: \`${m[0]}\``, start);
        }
        return { kind: 'atom', text: inClass ? text : `[${text}]`, consumed: m[0].length, classBody: text };
      }
      case 'Q': {
        if (inClass) throw this.err(`invalid escape sequence: \`\\Q\``, start);
        const end = s.indexOf('\\E', start + 2);
        const body = end < 0 ? s.slice(start + 2) : s.slice(start + 2, end);
        const consumed = (end < 0 ? s.length : end + 2) - start;
        return { kind: 'literalRun', cps: Array.from(body, (x) => x.codePointAt(0)!), consumed };
      }
      case 'A':
      case 'z':
      case 'b':
      case 'B':
        if (!inClass) {
          const text = ch === 'A' ? '(?<![\\s\\S])' : ch === 'z' ? '(?![\\s\\S])' : `\\${ch}`;
          return { kind: 'assert', text, consumed: 2 };
        }
        throw this.err(`invalid escape sequence: \`\\${ch}\``, start);
      default:
        break;
    }
    if (c >= 0x30 && c <= 0x37) {
      // Octal: \0 and up to two more digits, or \1-\7 followed by more octal digits (a lone \1 would be a
      // backreference, which RE2 does not support).
      const m = /^\\([0-7]{1,3})/.exec(s.slice(start))!;
      if (ch !== '0' && m[1]!.length < 2) throw this.err(`invalid escape sequence: \`\\${ch}\``, start);
      return lit(parseInt(m[1]!, 8), 1 + m[1]!.length);
    }
    // Any other ASCII punctuation may be escaped to mean itself; letters and digits may not.
    const isPunct = c < 0x80 && !((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a));
    if (isPunct) return lit(c, 2);
    throw this.err(`invalid escape sequence: \`\\${ch}\``, start);
  }

  private charClass(): void {
    const s = this.src;
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (s[this.pos] === '^') {
      negate = true;
      this.pos++;
    }
    let body = '';
    let first = true;
    // The previous single code point, so that `a-z` can become a range.
    let prevCp: number | undefined;
    for (;;) {
      if (this.pos >= s.length) throw this.err(`missing closing ]: \`${s.slice(start)}\``, start);
      const c = this.cp(this.pos);
      const ch = String.fromCodePoint(c);
      if (ch === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (ch === '[' && s[this.pos + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(this.pos));
        if (m !== null) {
          const ranges = POSIX_CLASSES[m[2]!];
          if (ranges === undefined) throw this.err(`invalid character class range: \`${m[0]}\``, this.pos);
          body += rangesToClassBody(m[1] === '^' ? complement(ranges) : ranges);
          this.pos += m[0].length;
          prevCp = undefined;
          continue;
        }
      }
      // A range lo-hi (a '-' before ']' is a literal).
      if (ch === '-' && prevCp !== undefined && s[this.pos + 1] !== ']' && this.pos + 1 < s.length) {
        this.pos++;
        let hi: number;
        if (s[this.pos] === '\\') {
          const r = this.readEscape(true);
          if (r.kind !== 'atom' || r.cp === undefined) throw this.err(`invalid character class range: \`${s.slice(start, this.pos + 2)}\``, this.pos);
          hi = r.cp;
          this.pos += r.consumed;
        } else {
          hi = this.cp(this.pos);
          this.pos += String.fromCodePoint(hi).length;
        }
        if (hi < prevCp) throw this.err(`invalid character class range: \`${String.fromCodePoint(prevCp)}-${String.fromCodePoint(hi)}\``, this.pos);
        body += `-${literal(hi)}`;
        prevCp = undefined;
        continue;
      }
      if (ch === '\\') {
        const r = this.readEscape(true);
        if (r.kind !== 'atom') throw this.err(`invalid escape sequence in class`, this.pos);
        body += r.classBody;
        prevCp = r.cp;
        this.pos += r.consumed;
        continue;
      }
      body += literal(c);
      prevCp = c;
      this.pos += ch.length;
    }
    const text = `[${negate ? '^' : ''}${body}]`;
    this.out += text;
    this.atom = true;
    this.repeated = false;
  }
}

/** Translates a Go regexp to a JS RegExp source (to be compiled with the `u` flag). Throws GoRegexpError. */
export function translateGoRegexp(pattern: string): string {
  return new Translator(pattern).translate();
}

/** Compiles a Go (RE2) regexp into a stateless JS RegExp with Go's matching semantics (unanchored search). */
export function compileGoRegexp(pattern: string): RegExp {
  const source = translateGoRegexp(pattern);
  try {
    return new RegExp(source, 'u');
  } catch (err) {
    throw new GoRegexpError(`error parsing regexp: ${(err as Error).message}`, 0);
  }
}
