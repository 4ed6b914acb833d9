/**
 * Debian's pebble (Let's Encrypt's ACME test server) on loopback for the gateway's ACME tests: its own HTTPS
 * listener on a throwaway PKI (test-pki.ts), a pebble-challtestsrv DNS server answering 127.0.0.1 for every name,
 * and the validation authority dialling the gateway's entry points on `httpPort` / `tlsPort` (pebble's config
 * names the ports it dials). PEBBLE_VA_NOSLEEP=1 and PEBBLE_VA_ALWAYS_VALID=0: challenges are really validated,
 * at once; PEBBLE_AUTHZREUSE=0 so every order is validated again; no random nonce rejection. Orders are counted
 * from pebble's log ("Added order"). `rootPem()` fetches the issuing root from `/roots/0`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { freePort } from './server.ts';
import { createTestPki } from './test-pki.ts';

export interface Pebble {
  /** The ACME directory URL. */
  readonly directory: string;
  /** PEM of the CA that signed pebble's own HTTPS listener (the resolver's `caCertificates`). */
  readonly listenerCaFile: string;
  /** Orders pebble has accepted so far. */
  orders(): number;
  /** The root that signs issued certificates. */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

export function pebbleInstalled(): boolean {
  try {
    readFileSync('/usr/bin/pebble');
    readFileSync('/usr/bin/pebble-challtestsrv');
    return true;
  } catch {
    return false;
  }
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

/** `eabKeys`: External Account Binding keys (kid → base64url HMAC key); with them every new account must present one. */
export async function startPebble(dir: string, options: { httpPort: number; tlsPort: number; validitySeconds?: number; eabKeys?: Record<string, string> }): Promise<Pebble> {
  const pki = createTestPki(dir);
  const [listen, management, dns, dnsManagement] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const challtest = spawn('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dns}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsManagement}`,
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
  const config = join(dir, 'pebble.json');
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: pki.serverCert,
      privateKey: pki.serverKey,
      httpPort: options.httpPort,
      tlsPort: options.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.eabKeys !== undefined,
      ...(options.eabKeys !== undefined ? { externalAccountMACKeys: options.eabKeys } : {}),
      ...(options.validitySeconds !== undefined ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  }));
  const pebble = spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dns}`], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const collect = (chunk: Buffer) => { log += chunk.toString('utf8'); };
  pebble.stdout!.on('data', collect);
  pebble.stderr!.on('data', collect);
  const ca = readFileSync(pki.caFile, 'utf8');
  const directory = `https://127.0.0.1:${listen}/dir`;
  const stop = async () => {
    await Promise.all([stopChild(pebble), stopChild(challtest)]);
  };
  try {
    await waitFor(async () => {
      if (pebble.exitCode !== null) throw new Error(`pebble exited: ${log}`);
      return (await get(directory, ca).catch(() => ({ status: 0 }))).status === 200;
    }, 'pebble to answer its directory');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    directory,
    listenerCaFile: pki.caFile,
    orders: () => log.split('\n').filter((line) => line.includes('Added order')).length,
    async rootPem() {
      const res = await get(`https://127.0.0.1:${management}/roots/0`, ca);
      if (res.status !== 200) throw new Error(`pebble /roots/0 answered ${res.status}`);
      return res.body;
    },
    stop,
  };
}

/** The certificate a TLS client verifying against `root` is shown for `servername`; rejects when it does not verify. */
export function servedCertificate(port: number, servername: string, root: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: root, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

/** Waits until `servername` is served a certificate that verifies against pebble's root. */
export function certificateServed(port: number, servername: string, root: string, check: (c: PeerCertificate) => boolean = () => true): Promise<PeerCertificate> {
  return waitFor(async () => {
    const cert = await servedCertificate(port, servername, root).catch(() => undefined);
    return cert !== undefined && check(cert) ? cert : undefined;
  }, `a certificate for ${servername} issued by pebble`, { deadlineMs: 40_000, intervalMs: 100 });
}

