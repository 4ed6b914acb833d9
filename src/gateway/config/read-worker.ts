/**
 * The worker thread behind `readConfigFiles` (read-off-thread.ts): reads, parses and validates dynamic
 * configuration files away from the event loop that serves requests — YAML parsing and schema checks of a
 * 50 MB file take seconds — and hands the result over in small pieces, one per request of the main thread, so
 * receiving it never stalls that thread either.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isMeshgateError } from '../../lib/errors.ts';
import { readValidated, type ReadRequest, type ReadMessage } from './read-off-thread.ts';

const { files, maxFileBytes, maxRouters, chunkEntries } = workerData as ReadRequest;
const port = parentPort!;
const post = (message: ReadMessage) => port.postMessage(message);

async function* pieces(): AsyncGenerator<ReadMessage> {
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

const iterator = pieces();
// Pull: the main thread asks for each piece when it is ready for it, so pieces never queue up on its side.
port.on('message', () => {
  iterator.next().then(
    (step) => post(step.done ? { type: 'done' } : step.value),
    (err: unknown) => post({
      type: 'error',
      code: isMeshgateError(err) ? err.code : 'MG_GATEWAY_CONFIG_READ',
      statusCode: isMeshgateError(err) ? err.statusCode : 400,
      message: (err as Error).message,
    }),
  );
});
