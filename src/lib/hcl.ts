/**
 * HCL → JSON through @cdktf/hcl2json (HCL2, run as WebAssembly, async), for Consul's HCL files: agent
 * configuration (`src/lib/agent-config`) and config entries (`meshgate config write`). Blocks come out as lists of
 * objects (`acl { … }` → `"acl": [{ … }]`); each reader undoes that where its format wants a single object.
 */

/**
 * Loaded by a computed specifier so TypeScript does not read the package's declarations, which reference the DOM
 * lib and would change the global types of the whole program.
 */
const HCL2JSON = '@cdktf/hcl2json';
type HclParse = (filename: string, contents: string) => Promise<unknown>;

/** Parses HCL text; `name` only labels positions in the parser's error messages. */
export async function parseHcl(name: string, text: string): Promise<unknown> {
  const mod = (await import(HCL2JSON)) as { parse: HclParse };
  return mod.parse(name, text);
}

/**
 * Consul reads HCL1, which allows blocks inside list elements (`Routes = [ { Match { HTTP { … } } } ]`) where HCL2
 * wants `Match = { … }`. When HCL2 refuses a file, it is read again with every `Name {` line written `Name = {`,
 * which means the same to Consul's decoders; if that fails too, HCL2's complaint about the file as written is thrown.
 */
export async function parseConsulHcl(name: string, text: string): Promise<unknown> {
  try {
    return await parseHcl(name, text);
  } catch (err) {
    const hcl1 = text.replace(/^(\s*)([A-Za-z_][\w-]*)\s*\{\s*$/gm, '$1$2 = {');
    if (hcl1 === text) throw err;
    try {
      return await parseHcl(name, hcl1);
    } catch {
      throw err; // the rewrite did not help: the error about the file as written is the useful one
    }
  }
}
