/**
 * HTTP/2 client sessions kept open and shared: one multiplexed session per key (a peer sidecar under one TLS
 * generation and discovery target, or the local app). A session that closes, errors or receives GOAWAY leaves the
 * pool and the next request opens a new one; a failed connect is not cached, so the next request tries again.
 * `retire` closes sessions gracefully — streams in flight finish, no new ones start — which is how a leaf or root
 * rotation stops using old connections without cutting a call.
 */
import { connect as h2Connect, type ClientHttp2Session, type SecureClientSessionOptions } from 'node:http2';

export class SessionPool {
  private readonly sessions = new Map<string, Promise<ClientHttp2Session>>();
  /** The sessions of `sessions` that have connected, for ready() to hand out without a promise. */
  private readonly open = new Map<string, ClientHttp2Session>();
  private readonly onError: (err: Error, key: string) => void;

  constructor(onError: (err: Error, key: string) => void) {
    this.onError = onError;
  }

  /**
   * The pooled session for `key` if it has connected and is still usable, without a promise: every request after a
   * session's first finds it so, and awaiting get()'s long-resolved promise cost a microtask turn per request.
   */
  ready(key: string): ClientHttp2Session | undefined {
    const session = this.open.get(key);
    return session && !session.closed && !session.destroyed ? session : undefined;
  }

  /** The open session for `key`, or a new one from `open`. */
  get(key: string, open: () => Promise<ClientHttp2Session>): Promise<ClientHttp2Session> {
    const existing = this.sessions.get(key);
    if (existing) return existing;
    const pending = open().then((session) => {
      const drop = (): void => {
        if (this.sessions.get(key) === pending) this.sessions.delete(key);
        if (this.open.get(key) === session) this.open.delete(key);
      };
      session.on('error', (err: Error) => {
        drop();
        this.onError(err, key);
      });
      session.once('close', drop);
      session.once('goaway', drop);
      // A pooled session must not keep the process alive on its own.
      session.unref();
      // Unless it closed before this continuation ran (drop has then run already): only a live session is ready.
      if (this.sessions.get(key) === pending && !session.closed && !session.destroyed) this.open.set(key, session);
      return session;
    });
    pending.catch(() => {
      if (this.sessions.get(key) === pending) this.sessions.delete(key);
    });
    this.sessions.set(key, pending);
    return pending;
  }

  /** Stops handing out sessions whose key `keep` refuses; they close once their streams are done. */
  retire(keep: (key: string) => boolean): void {
    for (const [key, pending] of this.sessions) {
      if (keep(key)) continue;
      this.sessions.delete(key);
      this.open.delete(key);
      pending.then((s) => s.close(), () => {});
    }
  }

  /** Closes everything now (proxy shutdown). */
  destroy(): void {
    for (const pending of this.sessions.values()) pending.then((s) => s.destroy(), () => {});
    this.sessions.clear();
    this.open.clear();
  }
}

/** Opens an HTTP/2 session and resolves once it is connected (settings exchanged), rejecting on a connect error. */
export function openSession(authority: string, options: SecureClientSessionOptions = {}, timeoutMs = 0): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(authority, options);
    const failed = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    const timer = timeoutMs > 0 ? setTimeout(() => failed(new Error(`connect to ${authority} timed out after ${timeoutMs} ms`)), timeoutMs) : undefined;
    session.once('error', failed);
    session.once('connect', () => {
      clearTimeout(timer);
      session.off('error', failed);
      resolve(session);
    });
  });
}
