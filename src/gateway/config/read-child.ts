/**
 * The child process behind `readConfigFiles` (read-off-thread.ts): reads, parses and validates dynamic configuration
 * files in a process of its own — YAML parsing and schema checks of a 50 MB file take seconds and grow the heap and
 * malloc's arenas by hundreds of MiB — and hands the result over in small pieces, one per request of the gateway, so
 * receiving it never stalls the gateway's event loop either. A process rather than a worker thread for two reasons:
 * all its memory goes back to the system when it exits (a thread's freed arenas and pages stay in the gateway's
 * resident set), and it runs at a lower CPU priority, so the threads serving requests win the cores while it parses.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { isMeshgateError } from '../../lib/errors.ts';
import { readValidated, type ReadRequest, type ReadMessage } from './read-off-thread.ts';

/**
 * How much weaker the reader's claim on a core is than the gateway's: nice +5 is about a third of the CPU share of
 * a thread at the gateway's own priority, so the threads serving requests win a contended core, yet the parse still
 * advances on a saturated host (nice 19, tried first, is 1/70 of the share: a 20,000-router read beside a busy test
 * suite did not finish in two minutes). Relative, because the child starts at its parent's nice.
 */
const READER_NICE_INCREMENT = 5;
const NICE_MAX = 19;

/**
 * Lowers every thread of this process (V8's GC and compiler helpers exist by now, and on Linux a priority is per
 * thread). Where /proc is absent (macOS, Windows) the process-wide call is the whole of it; where the system
 * refuses, the reader runs at the gateway's priority — the reason goes to the gateway's debug log.
 */
function lowerPriority(): string | undefined {
  try {
    const nice = Math.min(NICE_MAX, os.getPriority() + READER_NICE_INCREMENT);
    let tids: number[] = [];
    try {
      tids = readdirSync('/proc/self/task').map(Number);
    } catch { /* not Linux */ }
    if (tids.length === 0) os.setPriority(nice);
    for (const tid of tids) os.setPriority(tid, nice);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function* pieces(request: ReadRequest): AsyncGenerator<ReadMessage> {
  const { files, maxFileBytes, maxRouters, chunkEntries } = request;
  for (const file of files) {
    const { config, digest } = await readValidated(file, { maxFileBytes, maxRouters });
    yield { type: 'file', file, digest, tls: config.tls };
    for (const section of ['routers', 'services', 'middlewares', 'serversTransports'] as const) {
      let entries: Array<[string, unknown]> = [];
      for (const name in config.http[section]) {
        entries.push([name, config.http[section][name]]);
        if (entries.length === chunkEntries) {
          yield { type: 'entries', section, entries };
          entries = [];
        }
      }
      if (entries.length > 0) yield { type: 'entries', section, entries };
    }
  }
}

const send = (message: ReadMessage) => process.send!(message);
// The gateway gone (or done with us): nothing left to do.
process.on('disconnect', () => process.exit(0));

let iterator: AsyncGenerator<ReadMessage> | undefined;
// The first message is the request; each later one asks for the next piece, so pieces never queue up in the gateway.
process.on('message', (message: ReadRequest | 0) => {
  if (!iterator) {
    iterator = pieces(message as ReadRequest);
    const refused = lowerPriority();
    if (refused) send({ type: 'debug', message: `the configuration reader runs at normal priority: ${refused}` });
  }
  iterator.next().then(
    (step) => send(step.done ? { type: 'done' } : step.value),
    (err: unknown) => send({
      type: 'error',
      code: isMeshgateError(err) ? err.code : 'MG_GATEWAY_CONFIG_READ',
      statusCode: isMeshgateError(err) ? err.statusCode : 400,
      message: (err as Error).message,
    }),
  );
});
