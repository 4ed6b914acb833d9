/**
 * Traefik's file provider: one file (`filename`) or every .yml/.yaml/.toml/.json file under a `directory`, merged.
 * With `watch`, fs.watch on the folder (editors replace files by rename, so the file itself is not watched) and a
 * short debounce; each change is read and validated as a whole, and only a valid result is emitted — a broken edit
 * is logged with the key it breaks and the previous configuration keeps serving. Files are read, parsed and
 * validated in a child process (config/read-off-thread.ts) under the size limits, so a large file never stalls the
 * requests this process serves.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import { markPhase } from '../../lib/phases.ts';
import { NameRecorder, namesSliced, Slicer } from '../../lib/slices.ts';
import { emptyDynamicConfig, validateMiddlewares, type DynamicConfig } from '../config/dynamic.ts';
import { configDigest, setConfigDigest } from '../config/digest.ts';
import { readConfigFiles, type ReadLimits, type ReadOptions } from '../config/read-off-thread.ts';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_ROUTERS, type FileProviderConfig } from '../config/static.ts';
import { registerProvider, type Provider } from './provider.ts';

export interface FileProviderOptions extends Pick<FileProviderConfig, 'filename' | 'directory' | 'watch'> {
  logger: Logger;
  /** Quiet period after the last file event before reading (editors write in several steps). */
  debounceMs?: number;
  /** Told about every rejected read (counted as a failed reload). */
  onError?: (error: Error) => void;
  /** Absolute paths a directory scan skips (the static configuration file, when it sits in the same folder). */
  ignore?: string[];
  /** `providers.file.maxFileBytes` and `providers.maxRouters` (defaults as in the static configuration). */
  limits?: Partial<ReadLimits>;
}

/** Traefik reads only these from a directory; JSON (our last-good files among them) is never picked up there. */
const DIRECTORY_EXTENSIONS = new Set(['.yml', '.yaml', '.toml']);

export class FileProvider implements Provider {
  readonly name = 'file';
  readonly #options: FileProviderOptions;
  readonly #logger: Logger;
  #emit: ((config: DynamicConfig) => void) | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Digest of the last emitted configuration (not its text: that would keep a large document alive). */
  #lastEmitted = '';
  #loading: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly #readOptions: ReadOptions = { debug: (message) => this.#logger.debug(message) };

  constructor(options: FileProviderOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ provider: 'file' });
  }

  async start(emit: (config: DynamicConfig) => void, signal: AbortSignal): Promise<void> {
    this.#emit = emit;
    signal.addEventListener('abort', () => this.#stop(), { once: true });
    await this.#load();
    if (this.#options.watch !== false && !signal.aborted) this.#watch();
  }

  reload(): void {
    this.#schedule(0);
  }

  /** Reads and validates the whole source; throws a coded error naming file and key. Exposed for tests and tools. */
  async read(): Promise<DynamicConfig> {
    const slicer = new Slicer();
    const limits: ReadLimits = {
      maxFileBytes: this.#options.limits?.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      maxRouters: this.#options.limits?.maxRouters ?? DEFAULT_MAX_ROUTERS,
    };
    if (this.#options.filename) {
      const [read] = await readConfigFiles([this.#options.filename], limits, slicer, this.#readOptions);
      validateMiddlewares(read!.config.http.middlewares, read!.file);
      return setConfigDigest(read!.config, read!.digest);
    }
    return this.#readDirectory(this.#options.directory!, limits, slicer);
  }

  async #readDirectory(directory: string, limits: ReadLimits, slicer: Slicer): Promise<DynamicConfig> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    const ignore = new Set(this.#options.ignore ?? []);
    const files = entries
      .filter((e) => e.isFile() && !e.name.startsWith('.') && DIRECTORY_EXTENSIONS.has(extname(e.name).toLowerCase()))
      .map((e) => join(e.parentPath, e.name))
      .filter((file) => !ignore.has(file))
      .sort();
    const merged = emptyDynamicConfig();
    const sections = ['routers', 'services', 'middlewares', 'serversTransports'] as const;
    // The merged sections' names, recorded for the aggregator's merge and the last good copy (no enumeration).
    const recorders = new Map(sections.map((section) => [section, new NameRecorder()]));
    const read = files.length > 0 ? await readConfigFiles(files, limits, slicer, this.#readOptions) : [];
    for (const { file, config } of read) {
      validateMiddlewares(config.http.middlewares, file);
      // Traefik keeps the first definition of a name seen across the directory's files and logs the duplicate.
      // Merged in slices: a directory may hold 50,000 routers as well as one file may.
      for (const section of sections) {
        const target = merged.http[section] as Record<string, unknown>;
        const from = config.http[section] as Record<string, unknown>;
        // The reader recorded a large section's names; else collecting them is one step, on a turn of its own.
        for (const name of await namesSliced(from, slicer)) {
          if (Object.hasOwn(target, name)) this.#logger.error({ file, name }, `${section} "${name}" is defined in more than one file; the first is kept`);
          else {
            recorders.get(section)!.add(name);
            target[name] = from[name];
          }
          const pending = slicer.tick();
          if (pending) await pending;
        }
      }
      if (config.tcp !== undefined) {
        const tcp = (merged.tcp ??= { routers: {}, services: {}, middlewares: {}, serversTransports: {} });
        for (const section of ['routers', 'services', 'middlewares', 'serversTransports'] as const) Object.assign(tcp[section], config.tcp[section]);
      }
      if (config.udp !== undefined) {
        const udp = (merged.udp ??= { routers: {}, services: {} });
        Object.assign(udp.routers, config.udp.routers);
        Object.assign(udp.services, config.udp.services);
      }
      merged.tls.certificates.push(...config.tls.certificates);
      Object.assign(merged.tls.options, config.tls.options);
      Object.assign(merged.tls.stores, config.tls.stores);
    }
    for (const [section, recorder] of recorders) recorder.record(merged.http[section]);
    return merged;
  }

  #load(): Promise<void> {
    // Loads are serialised so an older read never overtakes a newer one.
    this.#loading = this.#loading.then(async () => {
      if (this.#stopped) return;
      let config: DynamicConfig;
      markPhase('file:read');
      try {
        config = await this.read();
      } catch (err) {
        this.#logger.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'file provider: configuration rejected, keeping the previous one');
        this.#options.onError?.(err as Error);
        return;
      }
      markPhase('file:received');
      const digest = await configDigest(config, new Slicer());
      if (digest === this.#lastEmitted || this.#stopped) return;
      this.#lastEmitted = digest;
      this.#emit?.(config);
    });
    return this.#loading;
  }

  #watch(): void {
    const target = this.#options.filename ? dirname(this.#options.filename) : this.#options.directory!;
    const wanted = this.#options.filename ? basename(this.#options.filename) : undefined;
    try {
      this.#watcher = watch(target, { recursive: wanted === undefined, persistent: false }, (_event, name) => {
        if (wanted !== undefined && name !== null && name !== wanted) return;
        this.#schedule(this.#options.debounceMs ?? 100);
      });
      this.#watcher.on('error', (err) => this.#logger.error({ err, target }, 'file provider: watch failed'));
    } catch (err) {
      this.#logger.error({ err, target }, 'file provider: cannot watch; changes need SIGHUP');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#load();
    }, delayMs);
  }

  #stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}

registerProvider('file', ({ staticConfig, logger, reportError }) => {
  const block = staticConfig.providers.file;
  if (!block) return undefined;
  return new FileProvider({
    filename: block.filename,
    directory: block.directory,
    watch: block.watch,
    logger,
    ...(staticConfig.file ? { ignore: [staticConfig.file] } : {}),
    limits: { maxFileBytes: block.maxFileBytes, maxRouters: staticConfig.providers.maxRouters },
    ...(reportError ? { onError: (err: Error) => reportError('file', err) } : {}),
  });
});
