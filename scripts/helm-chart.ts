/**
 * Writes the Helm chart (deploy/helm/meshgate) from src/kubernetes/manifests: run after changing a builder or the
 * values schema, and commit the result (test/kubernetes/manifests.test.ts fails while they differ).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CHART_DIR, renderChart } from '../src/kubernetes/manifests/helm.ts';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
for (const [file, text] of renderChart(version)) {
  const path = join(root, CHART_DIR, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
console.log(`wrote ${CHART_DIR}`);
