/**
 * An auth method type's Config checked against its zod schema with Consul's words: unknown keys are refused as
 * `authmethod.ParseConfig`'s strict decoding refuses them, any other mismatch names the Config field.
 */
import type { z } from 'zod';
import { ErrAuthMethodInvalid } from './errors.ts';

export function parseMethodConfig<S extends z.ZodType>(schema: S, raw: Record<string, unknown>): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw ErrAuthMethodInvalid(`Invalid Auth Method: invalid config key(s): ${issue.keys.join(', ')}`);
  throw ErrAuthMethodInvalid(`Invalid Auth Method: Config.${issue.path.join('.')}: ${issue.message}`);
}
