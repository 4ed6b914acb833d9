/**
 * The configurations the gateway benchmark (run.ts) runs, as text, so test/gateway/bench-configs.test.ts can load
 * the very same files into a gateway: the meshgate static + dynamic YAML of each row (HTTP/1.1, h2 on a TLS entry
 * point, TCP HostSNI passthrough) and the nginx configurations of the peers they are compared with.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The Host every HTTP row's router matches (wrk and h2load send it). */
export const BENCH_HOST = 'bench.local';
/**
 * The SNI of the TCP row. wrk sends the URL's host as SNI and connects to what it resolves to, so it must be a name
 * /etc/hosts maps to 127.0.0.1 — a `Host` header would not change the SNI.
 */
export const SNI_HOST = 'localhost';
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface GatewayConfig {
  /** The static configuration (entry points, file provider, metrics, access log); written as `static.yml`. */
  readonly staticYaml: string;
  /** The file provider's dynamic configuration; written as `dynamic.yml` in the same folder. */
  readonly dynamicYaml: string;
}

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Static part shared by every row: the entry point the row drives, the metrics entry point (Traefik's `traefik`,
 * :8080 by default) on an ephemeral port because gateways run side by side, Prometheus metrics and a JSON access log.
 */
function staticYaml(dir: string, entryPoint: string, address: string): string {
  return [
    'entryPoints:', `  ${entryPoint}:`, `    address: "${address}"`, '  traefik:', '    address: "127.0.0.1:0"',
    'providers:', '  file:', `    filename: "${join(dir, 'dynamic.yml')}"`,
    'metrics:', '  prometheus: {}',
    'accessLog:', `  filePath: "${join(dir, 'access.log')}"`, '  format: json', '  bufferingSize: 100',
    'log:', '  level: ERROR', '',
  ].join('\n');
}

export interface HttpGatewayOptions {
  /** Folder the files (and the access log) live in. */
  readonly dir: string;
  readonly address: string;
  /** Routers in the file: the benchmark's own plus `routers - 1` that never match its requests. */
  readonly routers: number;
  /** The upstream's URL (`http://127.0.0.1:port`). */
  readonly upstream: string;
  /** Serve the router over TLS (an entry point `websecure`, h2 chosen by ALPN) with this certificate. */
  readonly tls?: CertificateFiles;
}

/**
 * A `Host && PathPrefix` router among N, with a rateLimit set high and a headers middleware, to one loadBalancer
 * server. With `tls`, every router gets `tls: {}` and the certificate goes to `tls.certificates`.
 */
export function httpGatewayConfig(options: HttpGatewayOptions): GatewayConfig {
  const entryPoint = options.tls === undefined ? 'web' : 'websecure';
  const tls = options.tls === undefined ? [] : ['      tls: {}'];
  const dynamic: string[] = ['http:', '  routers:'];
  for (let i = 1; i < options.routers; i++) {
    dynamic.push(`    r${i}:`, `      rule: "Host(\`h${i}.example.com\`) && PathPrefix(\`/p${i}\`)"`, '      service: app', `      entryPoints: [${entryPoint}]`, ...tls);
  }
  dynamic.push('    bench:', `      rule: "Host(\`${BENCH_HOST}\`) && PathPrefix(\`/api\`)"`, '      service: app', `      entryPoints: [${entryPoint}]`,
    '      middlewares: [limit, hdrs]', ...tls);
  dynamic.push('  middlewares:',
    '    limit:', '      rateLimit:', '        average: 100000000', '        burst: 100000000',
    '    hdrs:', '      headers:', '        customRequestHeaders:', '          X-Bench: "1"', '        customResponseHeaders:', '          X-Gateway: meshgate');
  dynamic.push('  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${options.upstream}"`);
  if (options.tls !== undefined) {
    dynamic.push('tls:', '  certificates:', `    - certFile: "${options.tls.certFile}"`, `      keyFile: "${options.tls.keyFile}"`);
  }
  return { staticYaml: staticYaml(options.dir, entryPoint, options.address), dynamicYaml: `${dynamic.join('\n')}\n` };
}

export interface TcpGatewayOptions {
  readonly dir: string;
  readonly address: string;
  /** The TLS server the passthrough router forwards to (`127.0.0.1:port`). */
  readonly backend: string;
}

/** One `HostSNI` router with `tls.passthrough` on an entry point `tcp`, to a loadBalancer of one TLS server. */
export function tcpGatewayConfig(options: TcpGatewayOptions): GatewayConfig {
  const dynamic = [
    'tcp:', '  routers:', '    bench:', '      entryPoints: [tcp]', `      rule: "HostSNI(\`${SNI_HOST}\`)"`, '      service: backend',
    '      tls:', '        passthrough: true',
    '  services:', '    backend:', '      loadBalancer:', '        servers:', `          - address: "${options.backend}"`, '',
  ];
  return { staticYaml: staticYaml(options.dir, 'tcp', options.address), dynamicYaml: dynamic.join('\n') };
}

/**
 * A whole nginx.conf: one worker, its files under `dir`, an `http` block and optionally a `stream` block.
 * `keepaliveRequests` (default 100000): requests per client connection before nginx closes it.
 */
export function nginxConf(dir: string, blocks: { http: string; stream?: string; keepaliveRequests?: number }): string {
  return `${blocks.stream === undefined ? '' : `load_module ${STREAM_MODULE};\n`}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests ${blocks.keepaliveRequests ?? 100000};
  ${blocks.http}
}
${blocks.stream === undefined ? '' : `stream {\n  ${blocks.stream}\n}\n`}`;
}

/** nginx as the HTTP/1.1 reverse proxy peer (keep-alive pool to the upstream). */
export function nginxHttpProxy(port: number, upstreamPort: number): string {
  return `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; } }`;
}

/**
 * nginx as the h2 peer: TLS with ALPN h2 (nginx 1.22's `listen … ssl http2`; 1.25 moved it to `http2 on`), proxying
 * over HTTP/1.1 to the same keep-alive pool as the HTTP/1.1 peer. Streams per connection as the gateway's default
 * (250), so h2load's `-m` is what limits both.
 */
export function nginxH2Proxy(port: number, upstreamPort: number, cert: CertificateFiles): string {
  return `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert.certFile}; ssl_certificate_key ${cert.keyFile};
    http2_max_concurrent_streams 250;
    keepalive_requests 100000;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }
  }`;
}

/** The TCP row's backend: a TLS server answering a small static 200 (what both passthrough proxies forward to). */
export function nginxTlsBackend(port: number, cert: CertificateFiles): string {
  return `server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert.certFile}; ssl_certificate_key ${cert.keyFile};
    location / { default_type text/plain; return 200 "hello from the TLS backend\\n"; }
  }`;
}

/**
 * nginx as the TCP peer: `ssl_preread` reads the ClientHello's SNI and the map picks the backend — the passthrough
 * Traefik's HostSNI router does. An unknown SNI goes nowhere (port 1 on loopback refuses), as the gateway's router
 * leaves a non-matching SNI unrouted: a client that sent no SNI would fail on both alike, not be measured.
 */
export function nginxSniPassthrough(port: number, backendPort: number): string {
  return `map $ssl_preread_server_name $backend { ${SNI_HOST} 127.0.0.1:${backendPort}; default 127.0.0.1:1; }
  server { listen 127.0.0.1:${port}; ssl_preread on; proxy_pass $backend; }`;
}

/** A self-signed ECDSA P-256 certificate for the benchmark's names, valid one day (openssl, as the TLS tests make theirs). */
export function selfSignedCertificate(dir: string): CertificateFiles {
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${BENCH_HOST}`, '-addext', `subjectAltName=DNS:${BENCH_HOST},DNS:${SNI_HOST}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/**
 * The reload benchmarks' dynamic configuration (reload.ts, reload-garbage.ts): `count` routers on one service, router
 * `main` (`PathPrefix(\`/\`)`) plus `r1…` with a Host and a path prefix each; with more than one router, `main` goes
 * behind a headers middleware that marks its answers `X-Config: large`, so a client sees which configuration served.
 */
export function reloadDynamicYaml(upstream: string, count: number): string {
  const lines = ['http:', '  routers:', '    main:', '      rule: PathPrefix(`/`)', '      service: app'];
  if (count > 1) lines.push('      middlewares: [mark]');
  for (let i = 1; i < count; i++) lines.push(`    r${i}:`, `      rule: Host(\`h${i}.example.com\`) && PathPrefix(\`/p${i % 100}\`)`, '      service: app');
  if (count > 1) lines.push('  middlewares:', '    mark:', '      headers:', '        customResponseHeaders:', '          X-Config: large');
  lines.push('  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${upstream}"`);
  return `${lines.join('\n')}\n`;
}
