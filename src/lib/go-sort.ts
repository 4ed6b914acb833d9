/**
 * Go's `sort.Strings` order, which Traefik's decoders sort keys by (KV pairs, labels): byte-wise over UTF-8. That is
 * code-point order; JavaScript's `<` compares UTF-16 units, which disagrees for characters above U+FFFF against
 * those from U+E000 to U+FFFF — so keys are compared by code points here.
 */
export function compareAsGo(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Only a surrogate against a unit from U+E000 up compares differently by code point.
    if (x >= 0xd800 && y >= 0xd800) return (a.codePointAt(i) ?? x) - (b.codePointAt(i) ?? y);
    return x - y;
  }
  return a.length - b.length;
}
