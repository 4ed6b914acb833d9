/**
 * Reading dynamic configuration files off the event loop: a child process (read-child.ts) reads, parses and
 * validates them, checks the size limits, and the result comes back in pieces of `chunkEntries` elements, each
 * asked for in its own turn of the event loop, so a configuration of any size arrives without stalling requests.
 * The child exits after each read, so the memory a large document's parse took goes back to the system (a worker
 * thread's did not: its freed pages stayed in the gateway's resident set), and it parses at a lower CPU priority.
 * Files that are small in all (`INLINE_BYTES`) are read on the calling thread: parsing them takes less than
 * starting a process.
 */
import { fork } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MeshgateError } from '../../lib/errors.ts';
import { NameRecorder, nearTableGrowth, NEVER_YIELD, type Slicer } from '../../lib/slices.ts';
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
  | { type: 'error'; code: string; statusCode: number; message: string }
  | { type: 'debug'; message: string };

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

const childPath = fileURLToPath(new URL(`./read-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export interface ReadOptions {
  /** Elements of a section per piece handed over (one piece per event-loop turn at most). */
  chunkEntries?: number;
  /** Where the reader's debug notes go (e.g. that it could not lower its priority). */
  debug?: (message: string) => void;
}

/** Reads `files` (in a child process unless small); rejects with the coded error (parse, schema, limit) of the first bad one. */
export async function readConfigFiles(files: string[], limits: ReadLimits, slicer: Slicer, options: ReadOptions = {}): Promise<ReadFile[]> {
  let total = 0;
  for (const file of files) total += await sizeOf(file);
  if (total > INLINE_BYTES) return readInChild(files, limits, slicer, options);
  const out: ReadFile[] = [];
  for (const file of files) out.push({ file, ...(await readValidated(file, limits)) });
  return out;
}

/**
 * Adds a piece's entries to its section. Synchronous, unless the section reaches a size where growing it is one long
 * step (`nearTableGrowth`): the rest of the piece then goes on in a turn of its own, and the promise says when it is in.
 */
function receive(entries: Array<[string, unknown]>, target: Record<string, unknown>, recorder: NameRecorder, slicer: Slicer): Promise<void> | undefined {
  for (let i = 0; i < entries.length; i++) {
    const [name, value] = entries[i]!;
    if (!Object.hasOwn(target, name)) {
      if (nearTableGrowth(recorder.names.length)) return slicer.fresh().then(() => receiveRest(entries, i, target, recorder));
      recorder.add(name);
    }
    target[name] = value;
  }
  return undefined;
}

/** The rest of a piece from entry `from` on, after the section's growth got a turn of its own. */
function receiveRest(entries: Array<[string, unknown]>, from: number, target: Record<string, unknown>, recorder: NameRecorder): void {
  for (let i = from; i < entries.length; i++) {
    const [name, value] = entries[i]!;
    if (!Object.hasOwn(target, name)) recorder.add(name);
    target[name] = value;
  }
}

function readInChild(files: string[], limits: ReadLimits, slicer: Slicer, options: ReadOptions): Promise<ReadFile[]> {
  const request: ReadRequest = { files, maxFileBytes: limits.maxFileBytes, maxRouters: limits.maxRouters, chunkEntries: options.chunkEntries ?? 500 };
  return new Promise((resolve, reject) => {
    // Structured clone over the channel (not JSON): the same cost per piece as a worker's message. No inherited
    // execArgv: the gateway's own flags (an inspector port, the young-generation cap) are not the parser's.
    const child = fork(childPath, [], {
      serialization: 'advanced',
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, MESHGATE_CONFIG_READER: '1' },
    });
    const out: ReadFile[] = [];
    let current: { file: string; digest: string; config: DynamicConfig } | undefined;
    // Each section's names as they arrive: the merge and the last good copy walk them instead of enumerating it.
    let recorders = new Map<Section, NameRecorder>();
    const recordNames = () => {
      if (current) for (const [section, recorder] of recorders) recorder.record(current.config.http[section]);
      recorders = new Map();
    };
    let finished = false;
    const finish = (err: Error | undefined) => {
      if (finished) return;
      finished = true;
      // Done with it: its memory goes back to the system now.
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(out);
    };
    const next = () => {
      if (!finished && child.connected) child.send(0);
    };
    child.on('message', (message: ReadMessage) => {
      if (message.type === 'debug') return options.debug?.(message.message);
      if (message.type === 'file') {
        recordNames();
        const config = emptyDynamicConfig();
        config.tls = message.tls;
        current = { file: message.file, digest: message.digest, config };
        out.push(current);
      } else if (message.type === 'entries') {
        const target = current!.config.http[message.section] as Record<string, unknown>;
        let recorder = recorders.get(message.section);
        if (!recorder) recorders.set(message.section, (recorder = new NameRecorder()));
        const rest = receive(message.entries, target, recorder, slicer);
        // The piece finishes on a later turn (the section grew there): the next one is asked for after it.
        if (rest) return void rest.then(next, finish);
      } else if (message.type === 'done') {
        recordNames();
        return finish(undefined);
      }
      else return finish(new MeshgateError(message.code, message.statusCode, message.message));
      // Ask for the next piece once the loop had its turn if this slice is spent.
      const pending = slicer.tick();
      if (pending) void pending.then(next);
      else setImmediate(next);
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => finish(finished ? undefined : new Error(`the configuration reader exited (${signal ?? code}) before answering`)));
    child.send(request);
  });
}
