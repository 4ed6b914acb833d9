/**
 * The dynamic-configuration reader (src/gateway/config/read-off-thread.ts) parses large files in a child process:
 * the memory a parse takes (V8's heap and malloc's arenas of the parsing thread, hundreds of MiB for a few MB of
 * YAML) must go back to the system once the read is over, not stay in the gateway's resident set (issue 14,
 * finding 4: "memory must return after a smaller configuration replaces a larger one"). With the reader in a worker
 * thread, a 20,000-router read left ~210 MiB resident after its result was dropped and V8's pages were handed back.
 * Measured in a fresh process (fixtures/reader-memory.ts), so nothing else this suite loads is in the figure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('reading a 20,000-router file leaves no memory behind in the reading process once its result is dropped', async () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'reader-memory.ts');
  const { stdout } = await run(process.execPath, ['--expose-gc', fixture, '20000'], { timeout: 150_000 });
  const result = JSON.parse(stdout) as { routers: number; beforeMiB: number; heldMiB: number; afterMiB: number };
  assert.equal(result.routers, 20_000, 'the whole file was read');
  // Generous: the parse itself grows a process by 200+ MiB; what may stay is allocator slack and code, tens of MiB.
  assert.ok(result.afterMiB - result.beforeMiB < 60, `resident memory ${result.beforeMiB} → ${result.heldMiB} (result held) → ${result.afterMiB} MiB`);
});
