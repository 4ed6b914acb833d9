import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasonPhrase, statusText } from './status.ts';

// Wording of Go's net/http status.go StatusText (Traefik and Consul write these), where node's STATUS_CODES differs.
test('status texts are worded as Go words them', () => {
  assert.equal(statusText(413), 'Request Entity Too Large');
  assert.equal(statusText(414), 'Request URI Too Long');
  assert.equal(statusText(416), 'Requested Range Not Satisfiable');
  assert.equal(statusText(418), "I'm a teapot");
  assert.equal(statusText(422), 'Unprocessable Entity');
  assert.equal(statusText(200), 'OK');
  assert.equal(statusText(426), 'Upgrade Required');
  assert.equal(statusText(499), 'Client Closed Request');
});

test('unknown codes: empty text, and Go\'s "status code NNN" as a reason phrase', () => {
  assert.equal(statusText(299), '');
  assert.equal(statusText(Number('constructor')), '');
  assert.equal(reasonPhrase(299), 'status code 299');
  assert.equal(reasonPhrase(404), 'Not Found');
});
