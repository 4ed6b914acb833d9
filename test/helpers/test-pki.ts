/**
 * A throwaway PKI for TLS tests, made with the openssl CLI: a CA, a server certificate for 127.0.0.1/localhost and
 * a client certificate signed by that CA, and a client certificate from an unrelated CA (which must be refused).
 * ECDSA P-256, valid for one day, written as PEM files in `dir`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function selfSigned(dir: string, name: string, cn: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${cn}`]);
}

function signed(dir: string, name: string, cn: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
}

export function createTestPki(dir: string): TestPki {
  selfSigned(dir, 'ca', 'Meshgate Test CA');
  signed(dir, 'server', 'server.dc1.consul', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  signed(dir, 'client', 'client.dc1.consul', 'ca', 'extendedKeyUsage=clientAuth');
  selfSigned(dir, 'rogue-ca', 'Someone Else');
  signed(dir, 'rogue', 'rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth');
  const p = (f: string): string => join(dir, f);
  return {
    caFile: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'),
    clientCert: p('client.pem'), clientKey: p('client.key'), rogueCert: p('rogue.pem'), rogueKey: p('rogue.key'),
  };
}
