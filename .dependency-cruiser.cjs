/**
 * The import table of ARCHITECTURE.md, enforced. Parts that deploy on their own (agent, proxy, gateway, kubernetes)
 * reach the server only through src/api; lib depends on nothing above it.
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
    exclude: { path: '\\.test\\.ts$' },
  },
};
