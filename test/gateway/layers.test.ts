/**
 * Multi-layer routing and service middlewares through a running gateway and the file provider.
 * - parentRefs (Traefik v3.6+, docs routing/multi-layer-routing.md "How It Works" and "Building a Router Hierarchy"):
 *   the parent matches, its middlewares run (forwardAuth adds X-User-Role), then one child matches on the changed
 *   request; children are reachable only through the parent; parents have no service, children no entryPoints/tls.
 *   (The page's example writes the v2 matcher `HeadersRegexp`, which Traefik v3's v3 rule syntax refuses as
 *   Meshgate does; the v3 name `HeaderRegexp` is used here.)
 * - service middlewares (Traefik v3.7 middlewares overview: "When both are configured, router middlewares execute
 *   first, followed by service middlewares").
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { get, startGateway, startUpstream, staticYaml, tempDir, type Upstream } from './helpers.ts';

let admin: Upstream;
let user: Upstream;
let auth: Server;
let authUrl = '';
before(async () => {
  admin = await startUpstream('admin');
  user = await startUpstream('user');
  auth = createServer((req, res) => {
    const role = ({ a: 'admin', u: 'user' } as Record<string, string>)[String(req.headers['x-token'])];
    res.writeHead(200, role ? { 'x-user-role': role } : {});
    res.end();
  });
  await new Promise<void>((resolve) => auth.listen(0, '127.0.0.1', resolve));
  authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}`;
});
after(async () => {
  await admin.close();
  await user.close();
  auth.closeAllConnections();
  auth.close();
});

function dynamic(): string {
  return `http:
  routers:
    api-parent:
      rule: "PathPrefix(\`/api\`)"
      entryPoints: [web]
      middlewares: [auth, parent-prefix]
    api-admin:
      rule: "HeaderRegexp(\`X-User-Role\`, \`admin\`)"
      service: admin-service
      middlewares: [child-prefix]
      parentRefs: [api-parent]
    api-user:
      rule: "HeaderRegexp(\`X-User-Role\`, \`user\`)"
      service: user-service
      parentRefs: [api-parent]
    direct-user:
      rule: "PathPrefix(\`/direct\`)"
      service: user-service
      middlewares: [router-order]
    child-with-entrypoints:
      rule: "Path(\`/x\`)"
      service: user-service
      entryPoints: [web]
      parentRefs: [api-parent]
    orphan:
      rule: "Path(\`/y\`)"
      service: user-service
      parentRefs: [nowhere]
    parent-with-service:
      rule: "PathPrefix(\`/p\`)"
      service: user-service
    child-of-serviced:
      rule: "Path(\`/p/c\`)"
      service: user-service
      parentRefs: [parent-with-service]
  middlewares:
    auth:
      forwardAuth:
        address: "${authUrl}"
        authResponseHeaders: [X-User-Role]
    parent-prefix:
      addPrefix:
        prefix: /parent
    child-prefix:
      addPrefix:
        prefix: /child
    router-order:
      headers:
        customRequestHeaders:
          X-Order: router
    service-order:
      headers:
        customRequestHeaders:
          X-Order: service
          X-Service-Middleware: "yes"
  services:
    admin-service:
      loadBalancer:
        servers:
          - url: "${admin.url}"
    user-service:
      middlewares: [service-order]
      loadBalancer:
        servers:
          - url: "${user.url}"
`;
}

test('parentRefs: the parent authenticates, a child routes on the header it added; children only through the parent; Traefik\'s hierarchy rules', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), dynamic());
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    // Parent middlewares first (forwardAuth, then addPrefix /parent), then the child's (addPrefix /child).
    const asAdmin = await get(`${gw.web}/api/items`, { headers: { 'x-token': 'a' } });
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.json().upstream, 'admin');
    assert.equal(asAdmin.json().url, '/child/parent/api/items');

    // A forged role is replaced by what the parent's forwardAuth says.
    const asUser = await get(`${gw.web}/api/items`, { headers: { 'x-token': 'u', 'x-user-role': 'admin' } });
    assert.equal(asUser.json().upstream, 'user');
    assert.equal(asUser.json().url, '/parent/api/items');
    assert.equal(asUser.json().headers['x-service-middleware'], 'yes', 'the service\'s own middleware ran');

    // No child matches: 404, as for no router. A child's rule alone never reaches it.
    assert.equal((await get(`${gw.web}/api/items`, { headers: { 'x-token': 'nobody' } })).status, 404);
    assert.equal((await get(`${gw.web}/elsewhere`, { headers: { 'x-user-role': 'admin' } })).status, 404);

    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; status: string; error?: string[] }>;
    const byName = new Map(routers.map((r) => [r.name, r]));
    assert.equal(byName.get('api-parent@file')!.status, 'enabled');
    assert.equal(byName.get('api-admin@file')!.status, 'enabled');
    assert.deepEqual(byName.get('child-with-entrypoints@file')!.error, ['a child router must not have entryPoints']);
    assert.deepEqual(byName.get('orphan@file')!.error, ['parent router "nowhere@file" does not exist']);
    assert.deepEqual(byName.get('parent-with-service@file')!.error, ['a parent router must not have a service']);
    assert.match(byName.get('child-of-serviced@file')!.error![0]!, /not reachable/);
  } finally {
    await gw.close();
  }
});

test('service middlewares run for every request the service handles, after the router\'s own', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), dynamic());
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const direct = await get(`${gw.web}/direct`);
    assert.equal(direct.status, 200);
    assert.equal(direct.json().headers['x-order'], 'service', 'router middleware first, then the service\'s (last write wins)');
    assert.equal(direct.json().headers['x-service-middleware'], 'yes');
  } finally {
    await gw.close();
  }
});
