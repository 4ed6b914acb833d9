/**
 * The ACME pieces that need no CA: the static keys (Traefik's "Certificates Resolvers" reference page), the renewal
 * table (Traefik's pkg/provider/acme getCertificateRenewDurations, applied to the certificate's own lifetime), which
 * domains a router asks for (watchNewDomains: tls.domains, else the rule's Host names), and the HTTP-01 answer.
 * pebble end to end: test/gateway/acme.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isMeshgateError } from '../../lib/errors.ts';
import { validateStaticConfig } from '../config/static.ts';
import { emptyDynamicConfig } from '../config/dynamic.ts';
import { renewalDue, renewDurations } from './renewal.ts';
import { requestedDomains } from './domains.ts';
import { answerHttpChallenge, ChallengeStore } from './challenges.ts';
import { FileStorage } from './file-storage.ts';
import { parseKvStorage } from './kv-storage.ts';
import { decodeLabels, tagsToLabels } from '../providers/consulcatalog-labels.ts';
import type { RouterConfig } from '../config/dynamic.ts';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';

const HOUR = 3_600_000;

function invalid(raw: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(() => validateStaticConfig(raw), (err: unknown) => {
    assert.ok(isMeshgateError(err, 'MG_GATEWAY_CONFIG_INVALID'));
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test('certificatesResolvers: Traefik defaults; dnsChallenge is "not supported by meshgate"; a challenge and a known entry point are required', () => {
  const config = validateStaticConfig({ entryPoints: { web: { address: ':80' } }, certificatesResolvers: { le: { acme: { httpChallenge: { entryPoint: 'web' } } } } });
  const acme = config.certificatesResolvers!.le!.acme!;
  // Traefik's Configuration.SetDefaults: Let's Encrypt production, acme.json, RSA4096; certificatesDuration 2160 h.
  assert.equal(acme.caServer, 'https://acme-v02.api.letsencrypt.org/directory');
  assert.equal(acme.storage, 'acme.json');
  assert.equal(acme.keyType, 'RSA4096');
  assert.equal(acme.certificatesDuration, 2160);
  invalid({ certificatesResolvers: { le: { acme: { dnsChallenge: { provider: 'cloudflare' } } } } }, /not supported by meshgate: certificatesResolvers\.le\.acme\.dnsChallenge/);
  // A `tailscale` resolver is gateway/tailscale's (tailscale.test.ts); a resolver of neither kind names what it needs.
  invalid({ certificatesResolvers: { le: {} } }, /certificatesResolvers\.le\.acme: a certificate resolver needs `acme` or `tailscale`/);
  invalid({ certificatesResolvers: { le: { acme: { email: 'a@b.c' } } } }, /ACME challenge not specified/);
  invalid({ entryPoints: { web: { address: ':80' } }, certificatesResolvers: { le: { acme: { httpChallenge: { entryPoint: 'nope' } } } } },
    /certificatesResolvers\.le\.acme\.httpChallenge\.entryPoint: entry point "nope" is not defined/);
  invalid({ certificatesResolvers: { le: { acme: { tlsChallenge: {}, keyType: 'RSA1024' } } } }, /certificatesResolvers\.le\.acme\.keyType/);
  assert.equal(validateStaticConfig({ certificatesResolvers: { le: { acme: { tlsChallenge: {}, httpChallenge: { entryPoint: 'web', delay: '2s' } } } }, entryPoints: { web: { address: ':80' } } })
    .certificatesResolvers!.le!.acme!.httpChallenge!.delay, 2000);
  // `tlsChallenge:` with no value (YAML null) switches it on, as in Traefik.
  assert.ok(validateStaticConfig({ certificatesResolvers: { le: { acme: { tlsChallenge: null } } } }).certificatesResolvers!.le!.acme!.tlsChallenge);
});

test('renewal follows Traefik\'s table on the certificate\'s lifetime: 90 days → last 30 days, 1 hour → last 20 minutes', () => {
  assert.deepEqual(renewDurations(2160), { periodMs: 30 * 24 * HOUR, intervalMs: 24 * HOUR });
  assert.deepEqual(renewDurations(24 * 365), { periodMs: 120 * 24 * HOUR, intervalMs: 7 * 24 * HOUR });
  assert.deepEqual(renewDurations(24 * 7), { periodMs: 2 * 24 * HOUR, intervalMs: 2 * HOUR });
  assert.deepEqual(renewDurations(1), { periodMs: 20 * 60_000, intervalMs: 60_000 });
  const issued = Date.UTC(2026, 0, 1);
  const expires = issued + 90 * 24 * HOUR;
  assert.equal(renewalDue(issued, expires, issued + 59 * 24 * HOUR).due, false);
  assert.equal(renewalDue(issued, expires, issued + 61 * 24 * HOUR).due, true);
});

test('a router asks for its tls.domains, else its rule\'s Host names; the entry point\'s tls.certResolver applies to routers without tls; a store\'s defaultGeneratedCert asks for its domain', () => {
  const staticConfig = validateStaticConfig({
    entryPoints: { web: { address: ':80' }, websecure: { address: ':443', http: { tls: { certResolver: 'le' } } } },
    certificatesResolvers: { le: { acme: { tlsChallenge: {} } }, other: { acme: { tlsChallenge: {} } } },
  });
  const config = emptyDynamicConfig();
  config.http.routers = {
    'a@file': { rule: 'Host(`A.example.com`) || Host(`b.example.com`) && PathPrefix(`/x`)', tls: { certResolver: 'le' } },
    'b@file': { rule: 'Host(`ignored.example.com`)', tls: { certResolver: 'le', domains: [{ main: 'c.example.com', sans: ['d.example.com'] }] } },
    'c@file': { rule: 'Host(`other.example.com`)', tls: { certResolver: 'other' } },
    'd@file': { rule: 'Host(`ep.example.com`)', entryPoints: ['websecure'] },
    'e@file': { rule: 'HostRegexp(`.+`)', tls: { certResolver: 'le' } },
    'f@file': { rule: 'Host(`plain.example.com`)', entryPoints: ['web'] },
  };
  assert.deepEqual(requestedDomains(config, staticConfig, 'le'), [
    { main: 'a.example.com', sans: ['b.example.com'] },
    { main: 'c.example.com', sans: ['d.example.com'] },
    { main: 'ep.example.com' },
  ]);
  assert.deepEqual(requestedDomains(config, staticConfig, 'other'), [{ main: 'other.example.com' }]);
  // TCP routers: tls.domains, else the HostSNI names (Traefik's ParseHostSNI; `*` names nothing).
  config.tcp = { routers: {
    'db@file': { rule: 'HostSNI(`DB.example.com`) && ClientIP(`10.0.0.0/8`)', service: 'db', tls: { certResolver: 'other' } },
    'all@file': { rule: 'HostSNI(`*`)', service: 'db', tls: { certResolver: 'other' } },
    'named@file': { rule: 'HostSNI(`x.example.com`)', service: 'db', tls: { certResolver: 'other', domains: [{ main: 'y.example.com' }] } },
  }, services: {}, middlewares: {}, serversTransports: {} } as unknown as NonNullable<typeof config.tcp>;
  assert.deepEqual(requestedDomains(config, staticConfig, 'other'), [{ main: 'other.example.com' }, { main: 'db.example.com' }, { main: 'y.example.com' }]);
  // A store's defaultGeneratedCert asks its resolver for its domain (Traefik provider.go), unless the store has a
  // defaultCertificate of its own, which takes precedence.
  config.tls.stores = { default: { defaultGeneratedCert: { resolver: 'le', domain: { main: 'Example.org', sans: ['foo.example.org'] } } } };
  assert.deepEqual(requestedDomains(config, staticConfig, 'le').at(-1), { main: 'example.org', sans: ['foo.example.org'] });
  assert.equal(requestedDomains(config, staticConfig, 'other').length, 3);
  config.tls.stores = { default: { defaultCertificate: { certFile: 'c.pem', keyFile: 'k.pem' }, defaultGeneratedCert: { resolver: 'le', domain: { main: 'example.org' } } } };
  assert.equal(requestedDomains(config, staticConfig, 'le').length, 3);
});

function fakeRequest(url: string, host: string, tls = false): GatewayRequest {
  const req = { method: 'GET', url, originalUrl: url, headers: {}, host, remoteAddress: '127.0.0.1', clientIp: '127.0.0.1', tls, entryPoint: 'web' };
  return { ...req, body: Readable.from([]), data: {} } as unknown as GatewayRequest;
}

type Recorded = ResponseWriter & { status?: number; body?: string };

function recorder(): Recorded {
  const rw = { headersSent: false, writeHead(status: number) { rw.status = status; }, end(body?: string) { rw.body = body; } } as unknown as Recorded;
  return rw;
}

test('HTTP-01: the key authorization for the token and the request\'s host; 404 for another host or token; other paths and TLS go on to routing', () => {
  const store = new ChallengeStore();
  store.setHttp('tok', 'app.example.com', 'tok.thumb');
  let rw = recorder();
  assert.equal(answerHttpChallenge(store, fakeRequest('/.well-known/acme-challenge/tok', 'app.example.com'), rw), true);
  assert.equal(rw.status, 200);
  assert.equal(rw.body, 'tok.thumb');
  rw = recorder();
  assert.equal(answerHttpChallenge(store, fakeRequest('/.well-known/acme-challenge/tok', 'other.example.com'), rw), true);
  assert.equal(rw.status, 404);
  rw = recorder();
  assert.equal(answerHttpChallenge(store, fakeRequest('/.well-known/acme-challenge/a/b', 'app.example.com'), rw), true);
  assert.equal(rw.status, 404);
  assert.equal(answerHttpChallenge(store, fakeRequest('/index.html', 'app.example.com'), recorder()), false);
  assert.equal(answerHttpChallenge(store, fakeRequest('/.well-known/acme-challenge/tok', 'app.example.com', true), recorder()), false);
  store.deleteHttp('tok', 'app.example.com');
  rw = recorder();
  answerHttpChallenge(store, fakeRequest('/.well-known/acme-challenge/tok', 'app.example.com'), rw);
  assert.equal(rw.status, 404);
});

test('acme.json: written 0600 keyed by resolver; a file others can read is refused as Traefik refuses it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mg-acme-unit-'));
  const file = join(dir, 'acme.json');
  const storage = new FileStorage('le', file);
  await storage.saveCertificates([{ domain: { main: 'a.example.com' }, certificate: 'Y2VydA==', key: 'a2V5', Store: 'default' }]);
  await storage.close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).le.Certificates[0].domain, { main: 'a.example.com' });
  const open = join(dir, 'open.json');
  writeFileSync(open, '{}', { mode: 0o644 });
  const refused = new FileStorage('le', open);
  await assert.rejects(refused.load(), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_ACME_STORAGE') && /permissions 644 are too open/.test((err as Error).message));
  await refused.close();
});

test('consul-kv:// storage names an address and a prefix', () => {
  assert.deepEqual(parseKvStorage('le', 'consul-kv://127.0.0.1:8500/meshgate/acme/'), { address: '127.0.0.1:8500', prefix: 'meshgate/acme' });
  assert.throws(() => parseKvStorage('le', 'consul-kv://127.0.0.1:8500'), (err: unknown) => isMeshgateError(err, 'MG_GATEWAY_ACME_STORAGE'));
});

test('consulCatalog tags name the resolver and domains as Traefik\'s labels do (tls.certresolver, tls.domains[n].main/sans)', () => {
  const staticConfig = validateStaticConfig({ certificatesResolvers: { le: { acme: { tlsChallenge: {} } } } });
  const labels = tagsToLabels([
    'traefik.http.routers.r.rule=Host(`a.example.com`)', 'traefik.http.routers.r.tls.certresolver=le',
    'traefik.http.routers.r.tls.domains[0].main=a.example.com', 'traefik.http.routers.r.tls.domains[0].sans=b.example.com,c.example.com',
  ], 'traefik');
  const config = emptyDynamicConfig();
  config.http.routers = decodeLabels(labels).routers as Record<string, RouterConfig>;
  assert.deepEqual(requestedDomains(config, staticConfig, 'le'), [{ main: 'a.example.com', sans: ['b.example.com', 'c.example.com'] }]);
});
