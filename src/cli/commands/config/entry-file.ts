/**
 * Reading a config entry file as `consul config write` does: JSON, or else HCL (through @cdktf/hcl2json). Keys stay
 * as written — PascalCase or snake_case — because the server's decoder accepts both, as Consul's does. HCL blocks
 * (`TLS { … }`) come out of hcl2json as one-element lists, which the server's decoder also reads as Consul's
 * HookWeakDecodeFromSlice does. HCL1's blocks inside list elements are read by `parseConsulHcl` (src/lib/hcl.ts).
 */
import { parseConsulHcl } from '../../../lib/hcl.ts';
import { CliErrors } from '../../io.ts';

export async function parseEntryFile(name: string, text: string): Promise<Record<string, unknown>> {
  const trimmed = text.trim();
  if (trimmed === '') throw CliErrors.failed(`Failed to decode config entry input: ${name} is empty`);
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as Record<string, unknown>;
    } catch (err) {
      throw CliErrors.failed(`Failed to decode config entry input: ${(err as Error).message}`);
    }
  }
  try {
    return (await parseConsulHcl(name, text)) as Record<string, unknown>;
  } catch (err) {
    throw CliErrors.failed(`Failed to decode config entry input: ${(err as Error).message}`);
  }
}
