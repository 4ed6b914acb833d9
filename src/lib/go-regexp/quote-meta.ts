/**
 * Go's `regexp.QuoteMeta` (golang/go src/regexp/regexp.go, `special`): a backslash before each of `\.+*?()|[]{}^$`,
 * so the text matches itself literally. Traefik v2's route templates quote their literal parts with it.
 */
const SPECIAL = /[\\.+*?()|[\]{}^$]/g;

export function quoteMeta(s: string): string {
  return s.replace(SPECIAL, '\\$&');
}
