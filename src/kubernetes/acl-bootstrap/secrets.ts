/**
 * The Kubernetes Secrets server-acl-init reads and writes: a token under the key `token` (base64 in `data`, as
 * the API stores it), created or replaced in place, so a rerun overwrites only what changed.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';

export class TokenSecrets {
  readonly #api: CoreV1Api;
  readonly #namespace: string;
  readonly #labels: Record<string, string>;

  constructor(kubeConfig: KubeConfig, namespace: string, labels: Record<string, string>) {
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
    this.#namespace = namespace;
    this.#labels = labels;
  }

  async #read(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#api.readNamespacedSecret({ name, namespace: this.#namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  /** The Secret's `token`, or undefined when the Secret or its token is missing. */
  async token(name: string): Promise<string | undefined> {
    const encoded = (await this.#read(name))?.data?.['token'];
    return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
  }

  async writeToken(name: string, token: string): Promise<void> {
    const body: V1Secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name, namespace: this.#namespace, labels: this.#labels },
      data: { token: Buffer.from(token).toString('base64') },
    };
    const existing = await this.#read(name);
    if (!existing) {
      await this.#api.createNamespacedSecret({ namespace: this.#namespace, body });
      return;
    }
    // Replaced with the version read, so a concurrent writer makes this fail (409) rather than be overwritten.
    body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
    await this.#api.replaceNamespacedSecret({ name, namespace: this.#namespace, body });
  }
}
