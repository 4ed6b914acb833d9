/** Go durations for the query's DNS TTL, without throwing (the caller words the error as Consul does). */
import { parseDuration } from '../../lib/duration.ts';

export function tryParseGoDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined; // the caller reports the text it could not read, in Consul's words
  }
}
