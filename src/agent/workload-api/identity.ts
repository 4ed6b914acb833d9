/**
 * The X.509 identity one Workload API socket serves: the Connect leaf of its service and the CA roots, each followed
 * with a blocking query through the agent's server pool (the way a sidecar follows them, src/proxy/identity.ts), and
 * turned into Workload API material — the leaf with the active root's intermediates as the SVID chain (during a
 * root rotation that is the new root cross-signed by the old), the PKCS#8 key, and every root as the bundle, all DER.
 * A renewed leaf or a changed root list emits `change`; listeners send a complete new answer on their open streams.
 */
import { EventEmitter } from 'node:events';
import type { QueryResult } from '../../api/types.ts';
import type { CARootList, LeafCert } from '../../api/types.ts';
import type { BlockingParams } from '../../api/watch.ts';
import type { Logger } from '../../lib/logger.ts';
import { pemCertificatesToDer, pemKeyToPkcs8Der } from '../../lib/workload-api/der.ts';
import type { ServerPool } from '../server-pool.ts';

export interface WorkloadMaterial {
  /** The leaf's URI SAN. */
  readonly spiffeId: string;
  /** `spiffe://<trust domain>`: the bundle's key in FetchX509Bundles. */
  readonly trustDomainId: string;
  readonly chain: Buffer;
  readonly key: Buffer;
  readonly bundle: Buffer;
  /** Bumped on every change. */
  readonly generation: number;
}

export interface IdentityOptions {
  readonly servers: ServerPool;
  readonly service: string;
  /** The ACL token the leaf is asked with (it needs service:write on `service`). */
  readonly token: () => string;
  readonly logger: Logger;
}

export class WorkloadIdentity extends EventEmitter<{ change: [WorkloadMaterial] }> {
  readonly #o: IdentityOptions;
  readonly #abort = new AbortController();
  #leaf: LeafCert | undefined;
  #roots: CARootList | undefined;
  #material: WorkloadMaterial | undefined;
  #generation = 0;

  constructor(options: IdentityOptions) {
    super();
    this.#o = options;
  }

  get current(): WorkloadMaterial | undefined {
    return this.#material;
  }

  start(): void {
    const { servers, service } = this.#o;
    const opts = (q: BlockingParams) => ({ ...q, token: this.#o.token() || undefined });
    this.#follow('CA roots', (q) => servers.client().connect.caRoots(opts(q)), (roots) => {
      this.#roots = roots;
      this.#rebuild();
    });
    this.#follow(`leaf certificate of ${service}`, (q) => servers.client().connect.caLeaf(service, opts(q)), async (leaf) => {
      if (leaf.SerialNumber === this.#leaf?.SerialNumber) return;
      this.#leaf = leaf;
      // A leaf reissued by a root rotation can come before the roots watch sees the new root: read the roots now so
      // the chain carries the new intermediates and the bundle the new root.
      try {
        this.#roots = (await servers.client().connect.caRoots({ token: this.#o.token() || undefined })).value;
      } catch (err) {
        this.#o.logger.warn({ err: (err as Error).message }, 'workload API: reading the CA roots for a new leaf failed; using the last ones');
      }
      this.#rebuild();
    });
  }

  stop(): void {
    this.#abort.abort();
  }

  #follow<T>(what: string, query: (q: BlockingParams) => Promise<QueryResult<T>>, apply: (value: T) => void | Promise<void>): void {
    const { servers, logger } = this.#o;
    const run = async () => {
      for await (const r of servers.client().watch(query, {
        signal: this.#abort.signal,
        backoff: { initialMs: 250, maxMs: 15_000 },
        onError: (err) => {
          logger.warn({ err: (err as Error).message }, `workload API: watching the ${what} failed; retrying`);
          servers.rotate();
        },
      })) {
        await apply(r.value);
      }
    };
    run().catch((err: unknown) => logger.error({ err }, `workload API: the ${what} watch stopped`));
  }

  #rebuild(): void {
    const leaf = this.#leaf;
    const roots = this.#roots;
    if (!leaf || !roots || !roots.Roots || roots.Roots.length === 0) return;
    const active = roots.Roots.find((r) => r.ID === roots.ActiveRootID);
    let material: WorkloadMaterial;
    try {
      material = {
        spiffeId: leaf.ServiceURI,
        trustDomainId: `spiffe://${roots.TrustDomain}`,
        chain: pemCertificatesToDer([leaf.CertPEM, ...(active?.IntermediateCerts ?? [])]),
        key: pemKeyToPkcs8Der(leaf.PrivateKeyPEM),
        bundle: pemCertificatesToDer(roots.Roots.map((r) => r.RootCert)),
        generation: this.#generation + 1,
      };
    } catch (err) {
      this.#o.logger.error({ err: (err as Error).message }, 'workload API: the leaf or the roots do not parse; keeping the last identity');
      return;
    }
    const last = this.#material;
    if (last && last.spiffeId === material.spiffeId && last.chain.equals(material.chain) && last.bundle.equals(material.bundle)) return;
    this.#generation = material.generation;
    this.#material = material;
    this.#o.logger.info({ id: material.spiffeId, generation: material.generation }, 'workload API: identity updated');
    this.emit('change', material);
  }
}
