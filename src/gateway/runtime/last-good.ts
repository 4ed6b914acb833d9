/**
 * Static stability: the last good dynamic configuration, per provider, kept on disk beside the static file
 * (`gateway.yml` → `gateway.yml.last-good.json`, so two gateways never share one) and loaded on a cold start before
 * any provider reports — a gateway restarted while the Consul server is down serves its last routes. Writes are
 * atomic: a temporary file is written and fsynced, renamed over the old one, and the folder is fsynced. The JSON
 * is written element by element in slices, never stringified whole on the thread that serves requests.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import { markPhase } from '../../lib/phases.ts';
import { namesSliced, Slicer } from '../../lib/slices.ts';
import { validateDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';

export const LAST_GOOD_SUFFIX = '.last-good.json';

interface LastGoodDocument {
  version: 1;
  savedAt: string;
  providers: Record<string, DynamicConfig>;
}

export function lastGoodPathFor(staticFile: string): string {
  return `${staticFile}${LAST_GOOD_SUFFIX}`;
}

export class LastGoodStore {
  readonly path: string;
  readonly #logger: Logger;
  #writing: Promise<void> = Promise.resolve();
  #pending: Record<string, DynamicConfig> | undefined;

  constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
  }

  /** The persisted per-provider configurations; undefined when there is none or it cannot be trusted. */
  async load(): Promise<Record<string, DynamicConfig> | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#logger.error({ err, path: this.path }, 'cannot read the last good configuration');
      return undefined;
    }
    try {
      const doc = JSON.parse(text) as LastGoodDocument;
      if (doc.version !== 1 || typeof doc.providers !== 'object' || doc.providers === null) throw new Error('unknown document version');
      const out: Record<string, DynamicConfig> = {};
      // Validated again: the schema may have changed since it was written (an upgrade), and a file on disk is input.
      for (const [provider, config] of Object.entries(doc.providers)) out[provider] = validateDynamicConfig(config, `${this.path} (${provider})`);
      return out;
    } catch (err) {
      this.#logger.error({ err: { message: (err as Error).message }, path: this.path }, 'ignoring an unusable last good configuration');
      return undefined;
    }
  }

  /** Schedules a save; saves are serialised and coalesced so only the newest pending one is written. */
  save(providers: ReadonlyMap<string, DynamicConfig> | Record<string, DynamicConfig>): Promise<void> {
    this.#pending = providers instanceof Map ? Object.fromEntries(providers) : { ...(providers as Record<string, DynamicConfig>) };
    this.#writing = this.#writing.then(async () => {
      const next = this.#pending;
      this.#pending = undefined;
      if (!next) return;
      try {
        markPhase('last-good:write');
        await this.#write({ version: 1, savedAt: new Date().toISOString(), providers: next });
        markPhase('last-good:written');
      } catch (err) {
        this.#logger.error({ err, path: this.path }, 'cannot persist the last good configuration');
      }
    });
    return this.#writing;
  }

  async #write(doc: LastGoodDocument): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await writeDocument(doc, (text) => handle.write(text).then(() => undefined));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Writes `doc` as JSON, one element at a time, flushing about every 256 KiB (each write gives the loop way too). */
async function writeDocument(doc: LastGoodDocument, write: (text: string) => Promise<void>): Promise<void> {
  const slicer = new Slicer();
  let buffer = `{"version":${doc.version},"savedAt":${JSON.stringify(doc.savedAt)},"providers":{`;
  const put = async (text: string) => {
    buffer += text;
    if (buffer.length >= 256 * 1024) {
      await write(buffer);
      buffer = '';
    } else {
      const pending = slicer.tick();
      if (pending) await pending;
    }
  };
  let firstProvider = true;
  for (const [provider, config] of Object.entries(doc.providers)) {
    await put(`${firstProvider ? '' : ','}${JSON.stringify(provider)}:{"http":{`);
    firstProvider = false;
    let firstSection = true;
    for (const section of ['routers', 'services', 'middlewares', 'serversTransports'] as const) {
      await put(`${firstSection ? '' : ','}"${section}":{`);
      firstSection = false;
      let first = true;
      const elements = config.http[section] as Record<string, unknown>;
      // The reader recorded a large section's names; else collecting them is one step, on a turn of its own.
      for (const name of await namesSliced(elements, slicer)) {
        await put(`${first ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(elements[name])}`);
        first = false;
      }
      await put('}');
    }
    await put(`},"tls":${JSON.stringify(config.tls)}}`);
  }
  buffer += '}}';
  await write(buffer);
}
