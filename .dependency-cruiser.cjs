/**
 * The import table of ARCHITECTURE.md, enforced, and the gateway's internal layers. Parts that deploy on their own
 * (agent, proxy, gateway, kubernetes) reach the server only through src/api; lib depends on nothing above it.
 * Test files are checked by the same rules (a test that reaches across a line couples the parts as much as code).
 */
const part = (name) => `^src/${name}/`;
const allowed = {
  api: ['api', 'lib'],
  server: ['server', 'api', 'lib'],
  agent: ['agent', 'api', 'lib'],
  proxy: ['proxy', 'api', 'lib'],
  gateway: ['gateway', 'api', 'lib'],
  kubernetes: ['kubernetes', 'api', 'lib'],
  ui: ['ui', 'api'],
  lib: ['lib'],
};
const forbidden = Object.entries(allowed).map(([from, to]) => ({
  name: `${from}-imports-only-${to.join('-')}`,
  comment: `src/${from} may import only ${to.map((t) => `src/${t}`).join(', ')} (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: part(from) },
  to: { path: '^src/', pathNot: `^src/(${to.join('|')})/` },
}));
// src/server/store is inside the server but may import only lib.
forbidden.push({
  name: 'store-imports-only-lib',
  comment: 'src/server/store may import only src/lib (ARCHITECTURE.md)',
  severity: 'error',
  from: { path: '^src/server/store/' },
  to: { path: '^src/', pathNot: '^src/(server/store|lib)/' },
});
// The gateway in layers (issue 8; Traefik's pkg/config vs pkg/server vs pkg/middlewares…):
//   configuration — src/gateway/config: schemas, parsing, merging; imports no data plane and no control plane;
//   data plane — entrypoints, rules, middlewares, services, http: imports neither the configuration's parsing nor
//     providers nor the runtime; it may read its configuration types from the schemas (config/schema/);
//   runtime and providers sit above both.
const DATA_PLANE = '^src/gateway/(entrypoints|rules|middlewares|services|http)/';
forbidden.push({
  name: 'gateway-config-imports-no-data-plane',
  comment: 'src/gateway/config is the configuration layer: schemas and parsing only, no middleware, service, rule, entry point or HTTP code, no providers or runtime',
  severity: 'error',
  from: { path: '^src/gateway/config/' },
  to: { path: '^src/gateway/(entrypoints|rules|middlewares|services|http|providers|runtime|api|metrics)/' },
});
forbidden.push({
  name: 'gateway-data-plane-imports-no-control-plane',
  comment: 'the data plane imports neither configuration parsing nor providers nor the runtime (configuration types come from config/schema/)',
  severity: 'error',
  from: { path: DATA_PLANE },
  to: { path: '^src/gateway/(providers|runtime|api)/|^src/gateway/config/(?!schema/)' },
});
forbidden.push({
  name: 'no-circular',
  severity: 'warn',
  from: {},
  to: { circular: true },
});
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
