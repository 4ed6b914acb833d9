/**
 * Seeded random inputs for the hardening sweeps. One seed reproduces a whole run byte for byte. The suite runs a
 * fixed seed so CI is repeatable; `MESHGATE_FUZZ_SEED=random` explores a fresh one (printed in the test name), and
 * `MESHGATE_FUZZ_SEED=<n>` replays it. A seed that finds something becomes a regression test beside the fix.
 */

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  int(minInclusive: number, maxInclusive: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A string built to break parsers: control characters, lone surrogates, NUL, quotes, very long runs. */
  nastyString(maxLength?: number): string;
  /** A JSON value of any type, nested at most `depth` levels. */
  jsonValue(depth?: number): unknown;
  bytes(maxLength: number): Buffer;
}

const DEFAULT_SEED = 20261205;

export function seedFromEnvironment(): number {
  const setting = process.env.MESHGATE_FUZZ_SEED;
  if (setting === 'random') return Math.floor(Math.random() * 2 ** 31) + 1;
  const fromEnv = Number(setting);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_SEED;
}

const NASTY_PIECES = [
  '\u0000', '\ud800', '\udfff', '\ufffd', '\u202e', '\r\n', '\n', '"', "'", '\\', '/', '..', '%', '%00', '%2F', '%ZZ',
  '{', '}', '[', ']', '(', ')', '*', '+', '?', '$', '^', '|', '::', '@', '#', '&', '=', ' ', '\t', '__proto__',
  'constructor', 'prototype', 'toString', 'a'.repeat(300), '€', '😀', '\u00e9', 'null', 'true', '-1', '1e400', '0x10',
];

/** mulberry32: small, fast, and good enough to spread inputs; not for secrets. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const chance = (p: number): boolean => next() < p;

  const nastyString = (maxLength = 64): string => {
    const parts: string[] = [];
    const pieces = int(0, 6);
    for (let i = 0; i < pieces; i++) {
      if (chance(0.5)) parts.push(pick(NASTY_PIECES));
      else parts.push(String.fromCharCode(...Array.from({ length: int(1, 12) }, () => (chance(0.8) ? int(0x20, 0x7e) : int(0, 0xffff)))));
    }
    if (chance(0.03)) parts.push('x'.repeat(int(1_000, 80_000)));
    const text = parts.join('');
    return text.length > maxLength && !chance(0.05) ? text.slice(0, maxLength) : text;
  };

  const jsonValue = (depth = 3): unknown => {
    const kind = int(0, depth > 0 ? 8 : 5);
    switch (kind) {
      case 0: return null;
      case 1: return chance(0.5);
      case 2: return pick([0, -1, 1, 65536, 2 ** 53 + 1, -(2 ** 63), 1e308, 0.5, Number.MAX_SAFE_INTEGER]);
      case 3: return int(-10, 70_000);
      case 4: return nastyString();
      case 5: return pick(['', '10s', '720h', '-5s', '99999999h', '1.5m', 'abc', 'passing', 'critical', 'tcp', 'http']);
      case 6: return Array.from({ length: int(0, 4) }, () => jsonValue(depth - 1));
      case 7: {
        const o: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        for (let i = int(0, 4); i > 0; i--) o[chance(0.2) ? pick(['__proto__', 'constructor', 'prototype']) : nastyString(12)] = jsonValue(depth - 1);
        return o;
      }
      default: {
        // Deep nesting: parsers that recurse without bound fall over here.
        let v: unknown = 1;
        for (let i = int(10, 3_000); i > 0; i--) v = [v];
        return v;
      }
    }
  };

  const bytes = (maxLength: number): Buffer => {
    const b = Buffer.alloc(int(0, maxLength));
    for (let i = 0; i < b.length; i++) b[i] = int(0, 255);
    return b;
  };

  return { seed, next, int, chance, pick, nastyString, jsonValue, bytes };
}

/**
 * Mutates a copy of a valid document: replaces, deletes or adds fields at random depths, so most requests get past
 * the first check and exercise the deeper validation. `keep` names top-level fields left alone (the key or name that
 * confines a write to the sweep's own prefix).
 */
export function mutateDocument(random: Random, document: Record<string, unknown>, keep: readonly string[] = []): Record<string, unknown> {
  const copy = structuredClone(document);
  for (let round = random.int(1, 4); round > 0; round--) {
    let target: Record<string, unknown> = copy;
    // Walk down into a nested object now and then.
    for (let depth = 0; depth < 3 && random.chance(0.4); depth++) {
      const objects = Object.keys(target).filter((k) => typeof target[k] === 'object' && target[k] !== null && !Array.isArray(target[k]));
      if (objects.length === 0) break;
      target = target[random.pick(objects)] as Record<string, unknown>;
    }
    const keys = Object.keys(target).filter((k) => target !== copy || !keep.includes(k));
    const action = random.int(0, 2);
    if (action === 0 && keys.length > 0) target[random.pick(keys)] = random.jsonValue();
    else if (action === 1 && keys.length > 0) delete target[random.pick(keys)];
    else Object.defineProperty(target, random.chance(0.3) ? random.pick(['__proto__', 'constructor']) : random.nastyString(10), {
      value: random.jsonValue(), enumerable: true, configurable: true, writable: true,
    });
  }
  return copy;
}

/** Percent-encodes a string byte for byte, including bytes that are not valid UTF-8 (a lone surrogate's WTF-8). */
export function encodeLoosely(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // WTF-8 bytes of a surrogate code unit: what a careless client sends.
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else if (/[A-Za-z0-9_.~-]/.test(text[i]!)) out += text[i];
    else out += encodeURIComponent(text[i]!);
  }
  return out;
}
