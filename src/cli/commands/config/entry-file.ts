/**
 * Reading a config entry file as `consul config write` does: JSON, or else HCL (through @cdktf/hcl2json). Keys stay
 * as written — PascalCase or snake_case — because the server's decoder accepts both, as Consul's does. HCL blocks
 * (`TLS { … }`) come out of hcl2json as one-element lists, which the server's decoder also reads as Consul's
 * HookWeakDecodeFromSlice does. Consul reads HCL1, which allows blocks inside list elements
 * (`Routes = [ { Match { HTTP { … } } } ]`) where HCL2 wants `Match = { … }`: when HCL2 refuses a file, it is read
 * again with every `Name {` line written `Name = {`, which means the same to Consul's decoder.
 */
import { CliErrors } from '../../io.ts';

/**
 * Loaded by a computed specifier so TypeScript does not read the package's declarations, which reference the DOM
 * lib and would change the global types of the whole program.
 */
const HCL2JSON = '@cdktf/hcl2json';
type HclParse = (filename: string, contents: string) => Promise<unknown>;

async function parseHcl(name: string, text: string): Promise<unknown> {
  const mod = (await import(HCL2JSON)) as { parse: HclParse };
  return mod.parse(name, text);
}

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
    return (await parseHcl(name, text)) as Record<string, unknown>;
  } catch (err) {
    const hcl1 = text.replace(/^(\s*)([A-Za-z_][\w-]*)\s*\{\s*$/gm, '$1$2 = {');
    if (hcl1 !== text) {
      try {
        return (await parseHcl(name, hcl1)) as Record<string, unknown>;
      } catch {
        // the rewrite did not help: report HCL2's complaint about the file as written
      }
    }
    throw CliErrors.failed(`Failed to decode config entry input: ${(err as Error).message}`);
  }
}
