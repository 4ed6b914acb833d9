/**
 * OCSP (RFC 6960) on the wire, for stapling (Traefik pkg/tls/ocsp.go, through golang.org/x/crypto/ocsp — behaviour,
 * not code): the request for one certificate — a CertID with SHA-1 hashes of the issuer's name and key, as
 * ocsp.CreateRequest builds it and every responder expects — and, from a response, what decides whether it is
 * stapled: the response status, the single response for this certificate's serial, its status and its
 * thisUpdate/nextUpdate, after the signature is checked against the issuer or against a responder certificate the
 * issuer signed for OCSP signing (ocsp.ParseResponse's checks). ASN.1 through asn1js.
 */
import { createHash, verify, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';

const SHA1 = '1.3.14.3.2.26';
const BASIC_RESPONSE = '1.3.6.1.5.5.7.48.1.1';
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
/** Signature algorithms a responder signs with, as node's crypto.verify names the digest (null: the key's own). */
const SIGNATURE_DIGESTS: Record<string, string | null> = {
  '1.2.840.113549.1.1.5': 'sha1', '1.2.840.113549.1.1.11': 'sha256', '1.2.840.113549.1.1.12': 'sha384', '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384', '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null,
};

export type OcspStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  readonly status: OcspStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
}

type Block = asn1js.AsnType;

function parse(der: Uint8Array, what: string): Block {
  const { offset, result } = asn1js.fromBER(der);
  if (offset === -1) throw new Error(`${what}: not DER (${result.error})`);
  return result;
}

/** The elements of a SEQUENCE or of a constructed context-tagged field. */
function items(block: Block | undefined, what: string): Block[] {
  if (!(block instanceof asn1js.Constructed)) throw new Error(`${what}: expected a constructed value`);
  return block.valueBlock.value;
}

const isContext = (block: Block | undefined, tag: number): boolean => block !== undefined && block.idBlock.tagClass === 3 && block.idBlock.tagNumber === tag;
const content = (block: Block): Buffer => Buffer.from((block.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);
const encoded = (block: Block): Buffer => Buffer.from(block.valueBeforeDecodeView);

/** The fields of a certificate's TBSCertificate a CertID is made of. */
function certificateFields(der: Uint8Array): { serial: Buffer; issuer: Buffer; subject: Buffer; publicKeyBits: Buffer } {
  const tbs = items(items(parse(der, 'certificate'), 'certificate')[0], 'tbsCertificate');
  // version [0] EXPLICIT is optional (v1 certificates omit it).
  const at = isContext(tbs[0], 0) ? 1 : 0;
  const [serial, , issuer, , subject, spki] = tbs.slice(at);
  if (!serial || !issuer || !subject || !spki) throw new Error('certificate: truncated TBSCertificate');
  const key = items(spki, 'subjectPublicKeyInfo')[1];
  if (!(key instanceof asn1js.BitString)) throw new Error('certificate: subjectPublicKey is not a BIT STRING');
  return { serial: content(serial), issuer: encoded(issuer), subject: encoded(subject), publicKeyBits: content(key) };
}

const sha1 = (data: Uint8Array) => createHash('sha1').update(data).digest();

/** The DER OCSPRequest for `certificate` issued by `issuer` (one Request, no nonce, unsigned). */
export function ocspRequest(certificate: Uint8Array, issuer: Uint8Array): Buffer {
  const leaf = certificateFields(certificate);
  const ca = certificateFields(issuer);
  const certId = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: SHA1 }), new asn1js.Null()] }),
      new asn1js.OctetString({ valueHex: sha1(ca.subject) }),
      new asn1js.OctetString({ valueHex: sha1(ca.publicKeyBits) }),
      new asn1js.Integer({ valueHex: leaf.serial }),
    ],
  });
  const request = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [certId] })] })] })] });
  return Buffer.from(request.toBER(false));
}

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '(unused)', 'sigRequired', 'unauthorized'];

function time(block: Block | undefined, what: string): Date {
  if (!(block instanceof asn1js.GeneralizedTime)) throw new Error(`${what}: expected a GeneralizedTime`);
  return block.toDate();
}

/** Whether `signature` over `data` (by `algorithm`, an OID) is `key`'s. */
function signedBy(key: KeyObject, algorithm: string, data: Buffer, signature: Buffer): boolean {
  const digest = SIGNATURE_DIGESTS[algorithm];
  if (digest === undefined) throw new Error(`signature algorithm ${algorithm} is not supported`);
  try {
    return verify(digest, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * The single response for `certificate` in a DER OCSPResponse, once its signature is checked. Throws when the
 * response is not successful, not a basic response, not signed by the issuer (or by a responder certificate the
 * issuer signed for OCSP signing) or has no answer for this certificate.
 */
export function parseOcspResponse(response: Uint8Array, certificate: Uint8Array, issuer: Uint8Array): OcspAnswer {
  const top = items(parse(response, 'OCSP response'), 'OCSPResponse');
  const status = top[0];
  if (!(status instanceof asn1js.Enumerated)) throw new Error('OCSPResponse: no responseStatus');
  const code = status.valueBlock.valueDec;
  if (code !== 0) throw new Error(`OCSP responder answered ${RESPONSE_STATUS[code] ?? code}`);
  const bytes = items(items(top[1], 'responseBytes')[0], 'ResponseBytes');
  if (!(bytes[0] instanceof asn1js.ObjectIdentifier) || bytes[0].valueBlock.toString() !== BASIC_RESPONSE) throw new Error('OCSPResponse: not a basic OCSP response');
  if (!(bytes[1] instanceof asn1js.OctetString)) throw new Error('OCSPResponse: no response');
  const basic = items(parse(content(bytes[1]), 'BasicOCSPResponse'), 'BasicOCSPResponse');
  const [tbs, algorithm, signature, certs] = basic;
  if (!tbs || !algorithm || !(signature instanceof asn1js.BitString)) throw new Error('BasicOCSPResponse: truncated');
  const oid = items(algorithm, 'signatureAlgorithm')[0];
  if (!(oid instanceof asn1js.ObjectIdentifier)) throw new Error('BasicOCSPResponse: no signature algorithm');
  const issuerCert = new X509Certificate(Buffer.from(issuer));
  const signed = encoded(tbs);
  const sig = content(signature);
  const algorithmId = oid.valueBlock.toString();
  let trusted = signedBy(issuerCert.publicKey, algorithmId, signed, sig);
  if (!trusted && isContext(certs, 0)) {
    // A delegated responder: its certificate, in the response, must be issued by the issuer for OCSP signing.
    for (const der of items(items(certs, 'certs')[0], 'certs')) {
      const responder = new X509Certificate(encoded(der));
      if (responder.verify(issuerCert.publicKey) && (responder.keyUsage ?? []).includes(OCSP_SIGNING) && signedBy(responder.publicKey, algorithmId, signed, sig)) {
        trusted = true;
        break;
      }
    }
  }
  if (!trusted) throw new Error('OCSP response signature is not the issuer\'s');
  const data = items(tbs, 'ResponseData');
  const at = isContext(data[0], 0) ? 1 : 0;
  const serial = certificateFields(certificate).serial;
  for (const single of items(data[at + 2], 'responses')) {
    const [certId, certStatus, thisUpdate, ...rest] = items(single, 'SingleResponse');
    const idSerial = items(certId, 'CertID')[3];
    if (!idSerial || !content(idSerial).equals(serial) || !certStatus) continue;
    const answer: OcspStatus = isContext(certStatus, 0) ? 'good' : isContext(certStatus, 1) ? 'revoked' : 'unknown';
    const next = rest.find((b) => isContext(b, 0));
    return { status: answer, thisUpdate: time(thisUpdate, 'thisUpdate'), ...(next !== undefined ? { nextUpdate: time(items(next, 'nextUpdate')[0], 'nextUpdate') } : {}) };
  }
  throw new Error('OCSP response has no answer for this certificate');
}
