/**
 * Traefik v3.7's `failover.errors` (pkg/server/service/loadbalancer/failover responseWriter: a status in the
 * ranges sets needFallback, the main answer's headers and body are dropped, the request goes to the fallback;
 * integration fixture failover_statuscode.toml uses status ["500-504"] and maxRequestBodyBytes).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { buildServices, startGateway, startUpstream, closeOpenUpstreams } from './testing.ts';
import { TransportRegistry } from './transport.ts';

after(closeOpenUpstreams);

function bodyEcho(name: string, status: () => number) {
  return startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(status(), { 'x-from': name });
      res.end(`${name}:${Buffer.concat(chunks).toString()}`);
    });
  });
}

test('failover.errors: an answer in the status ranges is replaced by the fallback\'s, request body included', async (t) => {
  const transports = new TransportRegistry();
  let mainStatus = 503;
  const main = await bodyEcho('main', () => mainStatus);
  const fallback = await bodyEcho('fallback', () => 200);
  const svc = buildServices({
    app: { failover: { service: 'main', fallback: 'backup', errors: { status: ['500-504'], maxRequestBodyBytes: 1024 } } },
    main: { loadBalancer: { servers: [{ url: main.url }] } },
    backup: { loadBalancer: { servers: [{ url: fallback.url }] } },
  }, { transports });
  const gw = await startGateway(svc.get('app').handler);
  t.after(async () => { svc.close(); await gw.close(); await transports.close(); await main.close(); await fallback.close(); });

  let res = await request(gw.url, { method: 'POST', body: 'payload' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-from'], 'fallback', 'none of the main answer\'s headers reach the client');
  assert.equal(await res.body.text(), 'fallback:payload');
  assert.equal(main.hits, 1);

  mainStatus = 404;
  res = await request(gw.url, { method: 'POST', body: 'second' });
  assert.equal(res.statusCode, 404, 'a status outside the ranges is the answer');
  assert.equal(await res.body.text(), 'main:second');
  assert.equal(fallback.hits, 1);

  // A body larger than maxRequestBodyBytes cannot be kept to be sent twice.
  mainStatus = 500;
  res = await request(gw.url, { method: 'POST', body: 'x'.repeat(2048) });
  assert.equal(res.statusCode, 413);
  await res.body.dump();
  assert.equal(main.hits, 2);
});
