/** Writes the Server section of docs/benchmarks.md, leaving every other section (the gateway's) as it is. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const INTRO = `# Benchmarks

Every figure here is measured on loopback against a peer started in the same run on the same machine, and is
reported as a ratio to that peer; the section says how it was run and with which command. Numbers from a shared or
small machine are indicative: client, server and peer compete for the same cores.
`;

export function writeSection(docPath: string, heading: string, body: string): void {
  const section = `## ${heading}\n\n${body.trim()}\n`;
  let text = existsSync(docPath) ? readFileSync(docPath, 'utf8') : INTRO;
  const re = new RegExp(`^## ${heading}\\s*$`, 'm');
  const m = re.exec(text);
  if (m) {
    const rest = text.slice(m.index + m[0].length);
    const next = /^## /m.exec(rest);
    const end = next ? m.index + m[0].length + next.index : text.length;
    text = `${text.slice(0, m.index)}${section}${next ? '\n' : ''}${text.slice(end)}`;
  } else {
    text = `${text.trimEnd()}\n\n${section}`;
  }
  writeFileSync(docPath, text);
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
