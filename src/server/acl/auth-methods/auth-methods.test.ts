/**
 * The pure parts of auth methods: BindName templates (Consul's lib/template.InterpolateHIL with lowercasing, and
 * binder.go computeBindName / IsValidBindingRule), claims → identity (go-sso extractClaims: names and JSON
 * pointers, stringified values, lists), and the JWT time and audience rules of go-sso's verifyVanillaJWT (missing
 * exp = latest start + 150 s; missing nbf = iat, or exp − 150 s; ClockSkewLeeway default 60 s; negative = none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { BindNameError, checkBindName, computeBindName, interpolate } from './bind-name.ts';
import { identityFromClaims } from './jwt/claims.ts';
import { parseJwtConfig, type JwtConfig } from './jwt/config.ts';
import { checkClaims } from './jwt/validator.ts';
import { isMeshgateError } from '../../../lib/errors.ts';

test('BindName interpolation: values lowercased, literals kept, unknown variables and unclosed braces refused', () => {
  const vars = { 'value.name': 'Web', 'value.ns': 'default' };
  assert.equal(interpolate('svc-${value.name}-${ value.ns }', vars, true), 'svc-web-default');
  assert.equal(interpolate('$${value.name}', vars, true), '${value.name}');
  assert.throws(() => interpolate('${value.other}', vars, true), /unknown variable accessed: value.other/);
  assert.throws(() => interpolate('x-${value.name', vars, true), /unclosed/);
  assert.equal(computeBindName('service', '${value.ns}-api', vars), 'default-api');
  assert.throws(() => computeBindName('service', '${value.name}', vars), /uppercase characters \(interpolated as "Web"/);
  assert.equal(computeBindName('role', 'Admins', {}), 'Admins', 'role names may be upper case when written so');
  assert.throws(() => computeBindName('service', 'Admins', {}), BindNameError);
  assert.throws(() => computeBindName('policy', 'x'.repeat(129), {}), /invalid bind name/);
  checkBindName('node', 'node-${value.ns}', ['value.ns']);
  assert.throws(() => checkBindName('node', 'node-${value.zone}', ['value.ns']), /failed to validate bindType "node"/);
});

test('claims → identity: names and JSON pointers, numbers and booleans stringified, every mapped field present', () => {
  const identity = identityFromClaims(
    { sub: 'u1', meta: { 'a/b': 7, flags: [true] }, admin: false, groups: 'solo', roles: ['a', 2] },
    { sub: 'user', '/meta/a~1b': 'num', admin: 'admin', missing: 'absent' },
    { groups: 'groups', roles: 'roles', nothing: 'none' },
  );
  assert.deepEqual(identity.selectable.value, { user: 'u1', num: '7', admin: 'false', absent: '' });
  assert.deepEqual(identity.selectable.list, { groups: ['solo'], roles: ['a', '2'], none: [] });
  assert.equal(identity.projected['value.num'], '7');
  assert.equal(identity.projected['list.groups'], undefined, 'only value.* fields are BindName variables');
  assert.throws(() => identityFromClaims({ sub: { nested: 1 } }, { sub: 'user' }, {}), /Permission denied: error converting claim 'sub' to string/);
});

function config(over: Partial<JwtConfig> = {}): JwtConfig {
  return { ...parseJwtConfig({ JWTValidationPubKeys: [PEM] }), ...over };
}
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

function rejected(fn: () => void, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isMeshgateError(err, 'MG_ACL_LOGIN_REJECTED') && err.statusCode === 403 && pattern.test(err.message));
}

test('JWT time rules: defaults, leeways, and a token with no time claims at all', () => {
  const now = 1_700_000_000;
  const at = now * 1000;
  rejected(() => checkClaims({}, config(), at), /no issue time, notbefore, or expiration time/);
  // No exp: valid until iat + 150 s (+ 60 s clock skew).
  checkClaims({ iat: now - 200 }, config(), at);
  rejected(() => checkClaims({ iat: now - 211 }, config(), at), /token is expired \(exp\)/);
  // ExpirationLeeway negative: no leeway, the token is expired at once (beyond the clock skew).
  rejected(() => checkClaims({ iat: now - 61 }, config({ expirationLeewayMs: -1 }), at), /token is expired/);
  // ClockSkewLeeway negative: exactly at exp is still valid, one second past is not.
  checkClaims({ exp: now }, config({ clockSkewLeewayMs: -1 }), at);
  rejected(() => checkClaims({ exp: now - 1 }, config({ clockSkewLeewayMs: -1 }), at), /expired/);
  // nbf in the future beyond the skew; iat in the future beyond the skew.
  rejected(() => checkClaims({ nbf: now + 61, exp: now + 600 }, config(), at), /not valid yet \(nbf\)/);
  checkClaims({ nbf: now + 59, exp: now + 600 }, config(), at);
  rejected(() => checkClaims({ iat: now + 120, exp: now + 600 }, config({ clockSkewLeewayMs: 30_000 }), at), /not valid yet|issued in the future/);
  rejected(() => checkClaims({ exp: now + 600, iat: 'soon' }, config(), at), /iat is not a number/);
});

test('JWT issuer and audience rules', () => {
  const at = Date.now();
  const exp = Math.floor(at / 1000) + 60;
  rejected(() => checkClaims({ exp, iss: 'a' }, config({ boundIssuer: 'b' }), at), /invalid issuer claim/);
  checkClaims({ exp, iss: 'b' }, config({ boundIssuer: 'b' }), at);
  rejected(() => checkClaims({ exp, aud: 'x' }, config(), at), /audience claim found in JWT but no audiences bound/);
  rejected(() => checkClaims({ exp }, config({ boundAudiences: ['x'] }), at), /aud claim does not match/);
  checkClaims({ exp, aud: ['y', 'x'] }, config({ boundAudiences: ['x'] }), at);
});
