/** HTTP status code ranges as Traefik's configuration writes them ("500-599", "404", "500,502-504"). */

export type StatusRanges = ReadonlyArray<readonly [number, number]>;

export function parseStatusRanges(values: readonly string[], field = 'status'): StatusRanges {
  const out: Array<[number, number]> = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const text = part.trim();
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(text);
      if (!m) throw new Error(`${field}: invalid HTTP status code range "${value}"`);
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (to < from) throw new Error(`${field}: invalid HTTP status code range "${value}"`);
      out.push([from, to]);
    }
  }
  return out;
}

export function inRanges(ranges: StatusRanges, code: number): boolean {
  for (const [from, to] of ranges) if (code >= from && code <= to) return true;
  return false;
}
