/**
 * Copies the File/Structured (YAML) and (TOML) tabs of a Traefik documentation page into the docs replay's fixtures
 * (test/gateway/fixtures/traefik-docs/) and appends their manifest entries, so no snippet is retyped by hand.
 *
 *   node scripts/traefik-docs-extract.ts <page.md> <path of the page in traefik/traefik> <commit> <file prefix>
 *   node scripts/traefik-docs-extract.ts --rules <page.md> <page path> <commit> <file prefix>
 *
 * With --rules, the page's one-line rule examples (a yaml block holding only a rule) go to <prefix>.rules.json with
 * their section and tab instead: they are rules, not configuration files, so the manifest does not list them.
 *
 * A block inside an admonition loses the indentation of its opening fence (as the rendered page shows it); nothing
 * else is changed. The section is the chain of headings above the block, joined with " > ".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const rulesMode = process.argv[2] === '--rules';
const [pageFile, page, commit, prefix] = process.argv.slice(rulesMode ? 3 : 2);
if (!pageFile || !page || !commit || !prefix || !/^[0-9a-f]{40}$/.test(commit)) {
  console.error('usage: node scripts/traefik-docs-extract.ts <page.md> <page path> <40-hex commit> <prefix>');
  process.exit(2);
}
const dir = new URL('../test/gateway/fixtures/traefik-docs/', import.meta.url).pathname;
const manifestFile = join(dir, 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { snippets: { file: string }[] };

const lines = readFileSync(pageFile, 'utf8').split('\n');
if (rulesMode) {
  const examples: { section: string; tab: string; rule: string }[] = [];
  const path: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const heading = /^(#{2,6}) (.*)$/.exec(lines[i]!);
    if (heading) {
      path.length = heading[1]!.length - 2;
      path.push(heading[2]!.trim());
      continue;
    }
    const fence = /^```yaml(?: tab="([^"]*)")?$/.exec(lines[i]!);
    if (fence && lines[i + 2]?.trim() === '```') examples.push({ section: path.join(' > '), tab: fence[1] ?? '', rule: lines[i + 1]! });
  }
  writeFileSync(join(dir, `${prefix}.rules.json`), `${JSON.stringify({ page, commit, examples }, null, 2)}\n`);
  console.log(`${prefix}.rules.json: ${examples.length} rules`);
  process.exit(0);
}
const headings: string[] = [];
let n = manifest.snippets.filter((s) => s.file.startsWith(`${prefix}.`)).length;
for (let i = 0; i < lines.length; i++) {
  const heading = /^(#{2,6}) (.*)$/.exec(lines[i]!);
  if (heading) {
    headings.length = heading[1]!.length - 2;
    headings.push(heading[2]!.trim());
    continue;
  }
  const fence = /^( *)```(?:yaml|toml|yml) tab="((?:File|Structured) ?\((YAML|TOML)\))"/.exec(lines[i]!);
  if (!fence) continue;
  const indent = fence[1]!.length;
  const body: string[] = [];
  for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!.slice(Math.min(indent, lines[i]!.length - lines[i]!.trimStart().length)));
  n++;
  const file = `${prefix}.${String(n).padStart(2, '0')}.${fence[3] === 'YAML' ? 'yaml' : 'toml'}`;
  writeFileSync(join(dir, file), `${body.join('\n')}\n`);
  manifest.snippets.push({ file, page, commit, section: headings.join(' > '), tab: fence[2]! } as { file: string });
  console.log(file, '←', headings.join(' > '), fence[2]);
}
writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
