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
  /**
   * Ports besides the HTTP API's, as Consul's `ports` block spells them. `dns`: the DNS interface (UDP and TCP) on
   * the HTTP API's host; absent or -1 disables it (the CLI's default is Consul's 8600); 0 picks a free port.
   */
  ports?: { dns?: number; grpc?: number };
  /**
   * The range the server's own agent assigns `sidecar_service` ports from (Consul's ports.sidecar_min_port /
   * sidecar_max_port, default 21000–21255); a bound below 1 turns assignment off, so a sidecar must name its port.
   */
  sidecarPorts?: { min: number; max: number };
  /** Host the DNS interface listens on (Consul's addresses.dns); default the HTTP API's host. */
  dnsHost?: string;
  /** false: no plain-HTTP listener (Consul's `ports { http = -1 }`); `https` must then be set. Default true. */
  httpEnabled?: boolean;
  /** The HTTPS API (Consul's ports.https, addresses.https, tls.defaults / tls.https); absent = no HTTPS listener. */
  https?: HttpsOptions;
  /**
   * Consul's limits.http_max_conns_per_client: connections one client IP may hold to the HTTP(S) API at once; beyond
   * it, 429 and close. Absent or 0: unlimited (Meshgate does not impose Consul's default of 200 unless asked).
   */
  httpMaxConnsPerClient?: number;
  /** The address this node registers in the catalog (Consul's bind_addr), when it is not a wildcard. */
  bindAddr?: string;
  /** Consul's connect block, for the Connect CA (`ca_config` keys as in Consul's CA configuration). */
  connect?: { enabled: boolean; caConfig?: Record<string, unknown> };
  /**
   * When the DNS port was not chosen explicitly (the CLI's default 8600): a port that cannot be bound is logged and
   * the server runs without DNS, so several servers on one host (tests, replicas) still start.
   */
  dnsBestEffort?: boolean;
  /** Connect CA limits for tests: a leaf TTL below Consul's 1h minimum, to watch renewals happen. */
  connectCa?: { minLeafCertTtlMs?: number };
  /** The DNS domain (Consul's `domain`); default `consul.`. */
  domain?: string;
  /**
   * ms a client may take to send a whole HTTP request, head and body; past it the API answers 408 and closes the
   * connection. Answers are not bounded (a blocking query waits its full `wait`). Default 60 s; 0 disables it.
   */
  httpRequestTimeout?: number;
  /** Consul's ACL system; absent or `enabled: false` = every request allowed, as Consul with ACLs disabled. */
  acl?: AclOptions;
  /**
   * The web UI (Consul's `ui_config` block): served at `contentPath` (default `/ui/`) from `dir` (default the package's
   * dist/ui), `/` redirecting there; `enabled: false` turns both off. On when absent (`--dev` and tests); a config
   * file's `ui_config` without `enabled` turns it off, as in Consul.
   */
  ui?: { enabled?: boolean; dir?: string; contentPath?: string };
}

export interface HttpsOptions {
  /** HOST:PORT; port 0 picks a free port (tests). */
  addr: string;
  certFile: string;
  keyFile: string;
  /** CA bundle client certificates must chain to (needed with verifyIncoming). */
  caFile?: string;
  /** Require a client certificate signed by caFile (Consul's verify_incoming). */
  verifyIncoming: boolean;
  /** Lowest TLS version accepted, in Node's spelling; default TLSv1.2 (Consul's default TLSv1_2). */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** Consul's limits.https_handshake_timeout (default 5 s there; Node's default 120 s when absent). */
  handshakeTimeoutMs?: number;
}

export type StoreChoice = { backend: 'sqlite' } | { backend: 'etcd'; endpoints: string[]; prefix?: string };

export interface RunningServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8500 (the HTTPS one when plain HTTP is off). */
  readonly url: string;
  readonly port: number;
  /** The DNS interface's port (UDP and TCP), when it is enabled. */
  readonly dnsPort?: number;
  /** Base URL of the HTTPS API (https://HOST:PORT), when it is enabled. `url` is this too when HTTP is off. */
  readonly httpsUrl?: string;
  readonly httpsPort?: number;
  close(): Promise<void>;
}

/** Consul's `acl { … }` block. */
export interface AclOptions {
  enabled: boolean;
  /** "allow" (Consul's default) or "deny": what a question no rule answers gets. */
  defaultPolicy: 'allow' | 'deny';
  /** Consul's `down_policy`; a single-datacenter server always has its tokens locally, kept for config fidelity. */
  downPolicy?: 'allow' | 'deny' | 'extend-cache' | 'async-cache';
  /** Let `PUT /v1/agent/token/*` persist tokens in the data dir (Consul's enable_token_persistence). */
  enableTokenPersistence?: boolean;
  /**
   * The shortest ExpirationTTL a token may be given (Consul's server setting ACLTokenMinExpirationTTL, 1m by
   * default); tests lower it to watch tokens expire.
   */
  tokenMinExpirationTtlMs?: number;
  /** How long a resolved token is cached (Consul's token_ttl); 0 = resolve on every request. */
  tokenTtlMs?: number;
  tokens?: {
    /** Created at start as a global-management token with this SecretID (Consul's tokens.initial_management). */
    initialManagement?: string;
    /** The agent's own token (anti-entropy, its own registration). */
    agent?: string;
    /** Used by requests that carry no token, instead of the anonymous token. */
    default?: string;
    /** Used by the DNS interface. */
    dns?: string;
  };
}
