/** What `meshgate server` is started with; the CLI maps flags onto it and tests construct it directly. */
export interface ServerOptions {
  /** Dev mode: a temporary data dir, removed on exit. */
  dev: boolean;
  /** Directory holding the state store (SQLite database and WAL). Required unless `dev`. */
  dataDir?: string;
  /** HOST:PORT for the HTTP API; port 0 picks a free port (tests). Default 127.0.0.1:8500. */
  httpAddr: string;
  nodeName: string;
  datacenter: string;
  logLevel?: string;
  /**
   * Where the state lives: the embedded SQLite database in the data dir (default), or etcd, shared by every server
   * replica pointed at the same endpoints and prefix (default `/meshgate`).
   */
  store?: StoreChoice;
}

export type StoreChoice = { backend: 'sqlite' } | { backend: 'etcd'; endpoints: string[]; prefix?: string };

export interface RunningServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8500 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}
