/**
 * Extracts the File (YAML) / File (TOML) snippets of one Traefik documentation page into
 * test/gateway/fixtures/traefik-docs/ and appends their manifest entries, like traefik-docs-extract.ts, for the two
 * things that script does not handle: a page as a docs mirror renders it — Traefik's v3.7 pages are only stored
 * that way for some install-configuration pages: a **File (YAML)** line before a plain fence, admonitions quoted
 * with "> " — and dynamic-configuration snippets on install-configuration pages, which get `"config": "dynamic"` so
 * the replay validates them as dynamic configuration (a snippet whose top-level keys are all http, tcp, udp, tls).
 *
 *   node scripts/traefik-docs-extract-mirror.ts <page.md> --page docs/content/reference/… --commit <sha> --name <base> [--dry-run]
 *
 * mkdocs tabs (```yaml tab="File (YAML)") are read too. Indentation of admonition blocks is removed; nothing else is
 * changed. The section is the nearest heading, or the admonition's title. Files are numbered after the ones the
 * manifest already holds for <base>.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface Entry { file: string; page: string; commit: string; section: string; tab: string; config?: 'dynamic' }
interface Found { text: string; section: string; tab: string; ext: 'yaml' | 'toml' }

const TABS = new Set(['File (YAML)', 'File (TOML)']);
const DYNAMIC_ROOTS = new Set(['http', 'tcp', 'udp', 'tls']);

/** Strips one level of admonition quoting ("> ") or indentation (four spaces) from every line of a block. */
function dedent(lines: string[]): string[] {
  if (lines.every((l) => l === '' || l === '>' || l.startsWith('> '))) return lines.map((l) => (l === '>' ? '' : l.slice(2)));
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut));
}

/** The fenced File (YAML) / File (TOML) blocks of a page, with the heading or admonition title they sit under. */
export function findSnippets(markdown: string): Found[] {
  const lines = markdown.split('\n');
  const found: Found[] = [];
  let heading = '';
  let admonition = '';
  let pendingTab = '';
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.replace(/^> ?/, '');
    const h = /^#{1,6} (.+)$/.exec(raw);
    if (h) {
      heading = h[1]!.trim();
      admonition = '';
      continue;
    }
    const adm = /^\?\?\?\+? \w+ "(.+)"$/.exec(raw) ?? /^> \*\*\w+ — (.+)\*\*$/.exec(raw);
    if (adm) {
      admonition = adm[1]!;
      continue;
    }
    if (raw !== '' && !raw.startsWith(' ') && !raw.startsWith('>') && !raw.startsWith('```') && !raw.startsWith('**')) admonition = '';
    const bold = /^\*\*(.+)\*\*$/.exec(line.trim());
    if (bold) {
      pendingTab = bold[1]!;
      continue;
    }
    const fence = /^(\s*)```(yaml|toml)(?: tab="([^"]+)")?\s*$/.exec(line);
    if (!fence) continue;
    const tab = fence[3] ?? pendingTab;
    pendingTab = '';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const inner = raw.startsWith('>') ? lines[j]!.replace(/^> ?/, '') : lines[j]!;
      if (inner.trim() === '```') break;
      body.push(lines[j]!);
    }
    i = j;
    if (!TABS.has(tab)) continue;
    found.push({ text: `${dedent(body).join('\n')}\n`, section: admonition || heading, tab, ext: fence[2] as 'yaml' | 'toml' });
  }
  return found;
}

/** Whether every top-level key of the snippet is a dynamic-configuration section. */
function isDynamic(text: string, ext: 'yaml' | 'toml'): boolean {
  const roots = ext === 'yaml'
    ? [...text.matchAll(/^([A-Za-z]\w*):/gm)].map((m) => m[1]!)
    : [...text.matchAll(/^\[{1,2}([A-Za-z]\w*)/gm)].map((m) => m[1]!);
  return roots.length > 0 && roots.every((r) => DYNAMIC_ROOTS.has(r));
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { page: { type: 'string' }, commit: { type: 'string' }, name: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  });
  const [source] = positionals;
  if (!source || !values.page || !values.commit || !values.name) throw new Error('usage: traefik-docs-extract-mirror.ts <page.md> --page <path> --commit <sha> --name <base>');
  if (!/^[0-9a-f]{40}$/.test(values.commit)) throw new Error('--commit: 40 hex digits');
  const dir = new URL('../test/gateway/fixtures/traefik-docs/', import.meta.url).pathname;
  const manifestFile = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { snippets: Entry[] };
  let n = manifest.snippets.filter((s) => s.file.startsWith(`${values.name}.`)).length;
  for (const s of findSnippets(readFileSync(source, 'utf8'))) {
    const file = `${values.name}.${String(++n).padStart(2, '0')}.${s.ext}`;
    const entry: Entry = { file, page: values.page, commit: values.commit, section: s.section, tab: s.tab };
    if (isDynamic(s.text, s.ext)) entry.config = 'dynamic';
    console.log(`${file}  ${s.tab}  ${s.section}${entry.config ? '  (dynamic)' : ''}`);
    if (values['dry-run']) continue;
    writeFileSync(join(dir, file), s.text);
    manifest.snippets.push(entry);
  }
  if (!values['dry-run']) writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}

if (import.meta.main) main();
