/**
 * The catalog's default rule under Traefik's v2 rule syntax: traefik/traefik pkg/provider/consulcatalog config.go
 * builds a router without a `rule` tag from `defaultRule` (default ``Host(`{{ normalize .Name }}`)``, rendered by
 * provider.BuildRouterConfiguration), and pkg/server/router router.go runs each router with its `ruleSyntax`, else the
 * static `core.defaultRuleSyntax`. The rendered default rule is valid in both syntaxes, so under `v2` it routes as
 * under v3; a tag-given rule in v2's own form (`Host` with two values) routes under `v2`, and a router's own
 * `ruleSyntax=v3` tag overrides the default.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { startTestServer } from '../helpers/server.ts';
import { catalogStaticYaml, eventually, get, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';

let server: Awaited<ReturnType<typeof startTestServer>> | undefined;
let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
const upstreams: Upstream[] = [];

before(async () => {
  server = await startTestServer();
  const consul: ConsulClient = createClient({ address: server.url, env: {} });
  const register = async (name: string, tags: string[]): Promise<void> => {
    const up = await startUpstream(name);
    upstreams.push(up);
    await consul.agent.serviceRegister({ ID: `${name}-1`, Name: name, Address: '127.0.0.1', Port: Number(new URL(up.url).port), Tags: tags } as unknown as
      Parameters<ConsulClient['agent']['serviceRegister']>[0]);
  };
  // No rule tag: the default rule, Host(`my-app`) (normalize turns "/" into "-").
  await register('my/app', ['traefik.enable=true']);
  // v2's several-values Host: an error under v3, two hosts under v2.
  await register('multi', ['traefik.enable=true', 'traefik.http.routers.multi.rule=Host(`a.test`, `b.test`)']);
  // Its own ruleSyntax wins over core.defaultRuleSyntax: v3's PathRegexp (no v2 matcher of that name).
  await register('own', ['traefik.enable=true', 'traefik.http.routers.own.rule=PathRegexp(`^/own/[0-9]+$`)', 'traefik.http.routers.own.rulesyntax=v3']);
  const dir = await tempDir('mg-catalog-v2-');
  await writeFile(join(dir, 'gateway.yml'), `${catalogStaticYaml(server.url, { catalog: '    exposedByDefault: false\n' })}core:\n  defaultRuleSyntax: v2\n`);
  gw = await startGateway(join(dir, 'gateway.yml'));
});

after(async () => {
  await gw?.close();
  await server?.close();
  for (const up of upstreams) await up.close();
});

test('under core.defaultRuleSyntax v2 the catalog default rule, a v2 rule from tags and a router\'s own v3 syntax all route', async () => {
  const reach = async (host: string, path: string, upstream: string): Promise<void> => {
    await eventually(async () => {
      const r = await get(`${gw!.web}${path}`, { host });
      assert.equal(r.status, 200, `${host}${path}`);
      assert.equal(r.json().upstream, upstream);
    }, 30_000);
  };
  await reach('my-app', '/', 'my/app');
  await reach('a.test', '/', 'multi');
  await reach('b.test', '/', 'multi');
  await reach('elsewhere', '/own/42', 'own');
  const routers = (await get(`${gw!.admin}/api/http/routers`)).json() as Array<{ name: string; rule: string; status: string }>;
  const byName = Object.fromEntries(routers.map((r) => [r.name, r]));
  assert.equal(byName['my-app@consulcatalog']?.rule, 'Host(`my-app`)');
  assert.equal(byName['multi@consulcatalog']?.status, 'enabled');
});
