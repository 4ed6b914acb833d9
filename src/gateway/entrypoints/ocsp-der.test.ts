/**
 * ocsp-der.ts against openssl, the real peer on both sides: openssl reads the request we build (`openssl ocsp
 * -reqin … -req_text`) and answers it as a responder (`-index … -reqin -respout`), and what we read from its answers
 * is checked — status, times, and whose signature is accepted (golang.org/x/crypto/ocsp ParseResponse: the issuer,
 * or a responder certificate the issuer signed with the OCSP-signing extended key usage).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOcspResponse, ocspRequest } from './ocsp-der.ts';

let dir = '';
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
const der = (name: string) => readFileSync(join(dir, name));
const pemToDer = (name: string) => Buffer.from(readFileSync(join(dir, name), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');

/** EC P-256 keys (quick to make); `ca` issues `leaf` and two responder certificates, `other` is an unrelated CA. */
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mg-ocsp-der-'));
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other']) openssl('req', '-x509', ...key, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  const issue = (name: string, ...ext: string[]) => {
    openssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`, ...ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-copy_extensions', 'copy');
  };
  issue('leaf');
  issue('delegate', '-addext', 'extendedKeyUsage=OCSPSigning');
  issue('plain', '-addext', 'extendedKeyUsage=serverAuth');
  const serial = openssl('x509', '-in', 'leaf.crt', '-noout', '-serial').trim().split('=')[1];
  const expiry = `${new Date(Date.now() + 2 * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
  writeFileSync(join(dir, 'good.txt'), `V\t${expiry}\t\t${serial}\tunknown\t/CN=leaf\n`);
  writeFileSync(join(dir, 'revoked.txt'), `R\t${expiry}\t${expiry}\t${serial}\tunknown\t/CN=leaf\n`);
  writeFileSync(join(dir, 'request.der'), ocspRequest(pemToDer('leaf.crt'), pemToDer('ca.crt')));
});

/** openssl's answer to our request, from `index`, signed by `signer`. */
function answer(index: string, signer: string, signerKey = signer): Buffer {
  openssl('ocsp', '-index', index, '-CA', 'ca.crt', '-rsigner', `${signer}.crt`, '-rkey', `${signerKey}.key`, '-reqin', 'request.der', '-respout', 'response.der', '-ndays', '1');
  return der('response.der');
}

test('the request names the leaf by the issuer\'s SHA-1 name and key hashes and the leaf\'s serial, as openssl builds it', () => {
  const ours = openssl('ocsp', '-reqin', 'request.der', '-req_text');
  openssl('ocsp', '-issuer', 'ca.crt', '-cert', 'leaf.crt', '-no_nonce', '-reqout', 'theirs.der');
  const theirs = openssl('ocsp', '-reqin', 'theirs.der', '-req_text');
  assert.match(ours, /Hash Algorithm: sha1/);
  assert.equal(ours, theirs);
});

test('an answer signed by the issuer is read: status good or revoked, thisUpdate and nextUpdate a day apart', () => {
  const good = parseOcspResponse(answer('good.txt', 'ca'), pemToDer('leaf.crt'), pemToDer('ca.crt'));
  assert.equal(good.status, 'good');
  assert.ok(good.nextUpdate !== undefined);
  assert.equal(Math.round((good.nextUpdate.getTime() - good.thisUpdate.getTime()) / 3_600_000), 24);
  assert.equal(parseOcspResponse(answer('revoked.txt', 'ca'), pemToDer('leaf.crt'), pemToDer('ca.crt')).status, 'revoked');
});

test('a delegated responder is accepted only with a certificate the issuer signed for OCSP signing', () => {
  assert.equal(parseOcspResponse(answer('good.txt', 'delegate'), pemToDer('leaf.crt'), pemToDer('ca.crt')).status, 'good');
  assert.throws(() => parseOcspResponse(answer('good.txt', 'plain'), pemToDer('leaf.crt'), pemToDer('ca.crt')), /signature is not the issuer's/);
});

test('an answer signed by another CA, or for another issuer, is refused', () => {
  assert.throws(() => parseOcspResponse(answer('good.txt', 'other'), pemToDer('leaf.crt'), pemToDer('ca.crt')), /signature is not the issuer's/);
  // Checked against the wrong issuer, the issuer's own signature does not verify either.
  assert.throws(() => parseOcspResponse(answer('good.txt', 'ca'), pemToDer('leaf.crt'), pemToDer('other.crt')), /signature is not the issuer's/);
});

test('a response that is not "successful" or not DER is refused with the reason', () => {
  // OCSPResponse { responseStatus unauthorized (6) } — what a responder answers for a CA it does not serve.
  assert.throws(() => parseOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]), pemToDer('leaf.crt'), pemToDer('ca.crt')), /answered unauthorized/);
  assert.throws(() => parseOcspResponse(Buffer.from('<html>oops</html>'), pemToDer('leaf.crt'), pemToDer('ca.crt')), /OCSP response|expected/);
});
