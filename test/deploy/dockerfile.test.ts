/**
 * The image (Dockerfile). Docker is not installed on this machine, so the image is never built here; what is
 * checked is what can be without it: both stages are node:24-slim, the image runs as the unprivileged uid the
 * manifests' pods declare, its entrypoint is `bin/meshgate`, everything it copies exists and is not kept out by
 * .dockerignore, and `bin/meshgate` run in the image's layout (dist/ and no node_modules/.bin/node, since the
 * runtime stage installs production dependencies only) finds the system Node and runs the CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { MESHGATE_UID } from '../../src/kubernetes/manifests/common.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));

test('two node:24-slim stages; the last runs as the pods\' uid with bin/meshgate as its entrypoint', () => {
  assert.deepEqual(instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]), ['node:24-slim', 'node:24-slim']);
  const users = instructions.filter((l) => l.startsWith('USER '));
  assert.equal(users.at(-1), `USER ${MESHGATE_UID}:${MESHGATE_UID}`);
  assert.ok(dockerfile.includes(`--uid ${MESHGATE_UID}`));
  assert.equal(instructions.filter((l) => l.startsWith('ENTRYPOINT ')).at(-1), 'ENTRYPOINT ["/opt/meshgate/bin/meshgate"]');
});

test('everything the Dockerfile copies from the context exists and is not excluded by .dockerignore', async () => {
  const ignore = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  assert.equal(ignore[0], '*', 'everything is out unless named');
  const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const sources = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  assert.ok(sources.length >= 5);
  for (const source of sources) {
    await access(join(root, source));
    assert.ok(allowed.includes(source.replace(/\/$/, '')), `${source} is in the build context`);
  }
});

test('bin/meshgate in the image\'s layout runs the CLI with the system Node', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-image-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(root, 'bin/meshgate'), join(dir, 'bin/meshgate'));
  await chmod(join(dir, 'bin/meshgate'), 0o755);
  await mkdir(join(dir, 'dist/cli'), { recursive: true });
  await writeFile(join(dir, 'dist/cli/main.js'), 'console.log(JSON.stringify({ node: process.execPath, argv: process.argv.slice(2) }));\n');
  // Only the Node running this test on PATH, as the image has only its own.
  const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  const { stdout } = await run(join(dir, 'bin/meshgate'), ['k8s', 'manifests', '--help'], { env });
  const seen = JSON.parse(stdout) as { node: string; argv: string[] };
  assert.deepEqual(seen.argv, ['k8s', 'manifests', '--help']);
  assert.equal(seen.node, process.execPath);
  // Without dist/ it says what is missing instead of a stack trace.
  await rm(join(dir, 'dist'), { recursive: true });
  await assert.rejects(run(join(dir, 'bin/meshgate'), [], { env }), /dist is missing/);
});
