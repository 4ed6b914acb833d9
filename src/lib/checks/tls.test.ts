import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../testing/wait-for.ts';
import { recordingRunner } from './test-helpers.ts';

/** A self-signed certificate for svc.test made with the system's openssl. */
function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'mg-checks-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=svc.test',
      '-addext', 'subjectAltName=DNS:svc.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HTTPS checks', () => {
  it('verify the certificate unless TLSSkipVerify', async () => {
    const server = createServer(selfSigned(), (req, res) => res.end(`sni=${(req.socket as import('node:tls').TLSSocket).servername}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const rec = recordingRunner();
    try {
      rec.runner.add({ CheckID: 'verify', HTTP: url, Interval: 50, Status: 'passing' });
      rec.runner.add({ CheckID: 'skip', HTTP: url, Interval: 50, TLSSkipVerify: true, TLSServerName: 'svc.test' });
      const verify = await waitFor(() => rec.last('verify'), 'verify result');
      assert.equal(verify.status, 'critical');
      assert.match(verify.output, /^Get "https:\/\/127\.0\.0\.1:\d+\/": /);
      assert.deepEqual(await waitFor(() => rec.last('skip'), 'skip result'), {
        checkId: 'skip', status: 'passing', output: `HTTP GET ${url}: 200 OK Output: sni=svc.test`,
      });
    } finally {
      await rec.runner.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
