/** Consul's `Hash` field of tokens, policies and roles: a digest of what the object grants, base64 (changes when it does). */
import { createHash } from 'node:crypto';

export function contentHash(fields: unknown): string {
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64');
}
