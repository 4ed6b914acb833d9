/**
 * Reading dynamic configuration files off the event loop: a worker thread (read-worker.ts) reads, parses and
 * validates them, checks the size limits, and the result comes back in pieces of `chunkEntries` elements, each
 * asked for in its own turn of the event loop, so a configuration of any size arrives without stalling requests.
 * The worker exits after each read: nothing of a large document outlives it there. Files that are small in all
 * (`INLINE_BYTES`) are read on the calling thread: parsing them takes less than starting a worker.
 */
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { MeshgateError } from '../../lib/errors.ts';
import { NEVER_YIELD, type Slicer } from '../../lib/slices.ts';
import { configDigest } from './digest.ts';
import { emptyDynamicConfig, validateDynamicConfig, type DynamicConfig } from './dynamic.ts';
import { ConfigErrors } from './errors.ts';
import { readConfigFile } from './parse.ts';

/** Up to this many bytes in all, files are parsed on the calling thread (a few milliseconds at most). */
export const INLINE_BYTES = 64 * 1024;

type Section = 'routers' | 'services' | 'middlewares' | 'serversTransports';

export interface ReadRequest {
  files: string[];
  maxFileBytes: number;
  maxRouters: number;
  chunkEntries: number;
}

export type ReadMessage =
  | { type: 'file'; file: string; digest: string; tls: DynamicConfig['tls'] }
  | { type: 'entries'; section: Section; entries: Array<[string, unknown]> }
  | { type: 'done' }
  | { type: 'error'; code: string; statusCode: number; message: string };

export interface ReadFile {
  readonly file: string;
  /** Hash of the validated document: equal digests, equal configurations. */
  readonly digest: string;
  /** Validated, except each middleware against its kind (`validateMiddlewares` on this thread does that). */
  readonly config: DynamicConfig;
}

export interface ReadLimits {
  readonly maxFileBytes: number;
  readonly maxRouters: number;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw ConfigErrors.read(file, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
}

/** One file read, checked against the limits, parsed and validated (but for middleware kinds), with its digest. */
export async function readValidated(file: string, limits: ReadLimits): Promise<{ config: DynamicConfig; digest: string }> {
  const size = await sizeOf(file);
  if (size > limits.maxFileBytes) throw ConfigErrors.limit(file, `the file's size (${size} bytes)`, 'providers.file.maxFileBytes', limits.maxFileBytes);
  const config = validateDynamicConfig(await readConfigFile(file), file, { middlewares: false });
  let routers = 0;
  for (const _ in config.http.routers) routers++;
  if (routers > limits.maxRouters) throw ConfigErrors.limit(file, `its ${routers} routers`, 'providers.maxRouters', limits.maxRouters);
  return { config, digest: await configDigest(config, NEVER_YIELD) };
}

const workerUrl = new URL(`./read-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Reads `files` (in a worker thread unless small); rejects with the coded error (parse, schema, limit) of the first bad one. */
export async function readConfigFiles(files: string[], limits: ReadLimits, slicer: Slicer, chunkEntries = 500): Promise<ReadFile[]> {
  let total = 0;
  for (const file of files) total += await sizeOf(file);
  if (total > INLINE_BYTES) return readInWorker(files, limits, slicer, chunkEntries);
  const out: ReadFile[] = [];
  for (const file of files) out.push({ file, ...(await readValidated(file, limits)) });
  return out;
}

function readInWorker(files: string[], limits: ReadLimits, slicer: Slicer, chunkEntries: number): Promise<ReadFile[]> {
  const request: ReadRequest = { files, maxFileBytes: limits.maxFileBytes, maxRouters: limits.maxRouters, chunkEntries };
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: request });
    const out: ReadFile[] = [];
    let current: { file: string; digest: string; config: DynamicConfig } | undefined;
    let finished = false;
    const finish = (err: Error | undefined) => {
      if (finished) return;
      finished = true;
      void worker.terminate();
      if (err) reject(err);
      else resolve(out);
    };
    const next = () => worker.postMessage(0);
    worker.on('message', (message: ReadMessage) => {
      if (message.type === 'file') {
        const config = emptyDynamicConfig();
        config.tls = message.tls;
        current = { file: message.file, digest: message.digest, config };
        out.push(current);
      } else if (message.type === 'entries') {
        const target = current!.config.http[message.section] as Record<string, unknown>;
        for (const [name, value] of message.entries) target[name] = value;
      } else if (message.type === 'done') return finish(undefined);
      else return finish(new MeshgateError(message.code, message.statusCode, message.message));
      // Ask for the next piece once the loop had its turn if this slice is spent.
      const pending = slicer.tick();
      if (pending) void pending.then(next);
      else setImmediate(next);
    });
    worker.on('error', (err) => finish(err));
    worker.on('exit', (code) => finish(finished ? undefined : new Error(`the configuration reader exited (${code}) before answering`)));
    next();
  });
}
