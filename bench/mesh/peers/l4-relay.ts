/**
 * Peer for the mesh benchmark's L4 row: the smallest Node relay doing one sidecar's L4 job, with nothing else —
 * no intentions, metrics, logs or endpoint choice. `client` accepts plain TCP and dials TLS 1.3 to the other relay
 * presenting a leaf; `server` accepts TLS requiring a client certificate that chains to the CA roots, then dials the
 * app in plain TCP. Both join the two sockets with `pipe`. Listens on an ephemeral port and sends it to the parent.
 *
 *   node l4-relay.ts client|server <target port> <tls.json: {key, cert, ca[]}>
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';

const [role, targetPort, tlsFile] = [process.argv[2], Number(process.argv[3]), process.argv[4]!];
const tls = JSON.parse(readFileSync(tlsFile, 'utf8')) as { key: string; cert: string; ca: string[] };

function join(a: Socket, b: Socket): void {
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
  a.pipe(b);
  b.pipe(a);
}

const server = role === 'client'
  ? createServer({ noDelay: true }, (down) => {
    const up = tlsConnect({ port: targetPort, host: '127.0.0.1', ...tls, minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    up.setNoDelay(true);
    join(down, up);
  })
  : createTlsServer({ ...tls, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, noDelay: true }, (down) => {
    const up = netConnect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    join(down, up);
  });
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
// A normal exit on the bench's SIGTERM, so `--cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
