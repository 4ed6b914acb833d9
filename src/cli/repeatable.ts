/**
 * The commander argument parser of a repeatable flag (`--tls-san a --tls-san b`): each occurrence is appended to the
 * values so far, starting from the option's default or from nothing when it has none.
 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
