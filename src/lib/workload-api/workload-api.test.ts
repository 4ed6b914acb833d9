import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { isMeshgateError } from '../errors.ts';
import { parseWorkloadApiAddress } from './address.ts';
import { LOAD_OPTIONS, packageDefinition, workloadApiService } from './definition.ts';
import { splitDerCertificates } from './der.ts';

test('the in-code definition is workload.proto: the same method paths, streaming and messages (field names, numbers, types)', () => {
  const proto = loadSync(new URL('./workload.proto', import.meta.url).pathname, LOAD_OPTIONS);
  const fromProto = proto.SpiffeWorkloadAPI as Record<string, MethodDefinition<object, object>>;
  const messages = (def: Record<string, unknown>) => Object.fromEntries(Object.entries(def)
    .filter(([, v]) => (v as { format?: string }).format === 'Protocol Buffer 3 DescriptorProto')
    .map(([name, v]) => [name, (v as { type: unknown }).type]));
  assert.ok(Object.keys(messages(proto)).includes('X509SVID'));
  assert.deepEqual(messages(packageDefinition), messages(proto));
  const shape = (m: MethodDefinition<object, object>) => ({
    path: m.path, requestStream: m.requestStream, responseStream: m.responseStream,
    request: (m.requestType as unknown as { type: unknown }).type, response: (m.responseType as unknown as { type: unknown }).type,
  });
  assert.deepEqual(Object.keys(workloadApiService).sort(), Object.keys(fromProto).sort());
  for (const name of Object.keys(fromProto)) {
    assert.deepEqual(shape(workloadApiService[name] as unknown as MethodDefinition<object, object>), shape(fromProto[name]!), name);
  }
  // No package: the paths every Workload API client calls (go-spiffe's workload.proto declares none).
  assert.equal(workloadApiService.FetchX509SVID!.path, '/SpiffeWorkloadAPI/FetchX509SVID');
});

test('Workload API addresses as go-spiffe reads them (workloadapi/addr_posix.go parseTargetFromURLAddr)', () => {
  assert.deepEqual(parseWorkloadApiAddress('unix:///run/spire/agent.sock'), { kind: 'unix', path: '/run/spire/agent.sock', target: 'unix:///run/spire/agent.sock' });
  assert.deepEqual(parseWorkloadApiAddress('unix:/run/agent.sock'), { kind: 'unix', path: '/run/agent.sock', target: 'unix:///run/agent.sock' });
  assert.deepEqual(parseWorkloadApiAddress('tcp://127.0.0.1:8081'), { kind: 'tcp', host: '127.0.0.1', port: 8081, target: '127.0.0.1:8081' });
  assert.deepEqual(parseWorkloadApiAddress('tcp://[::1]:8081'), { kind: 'tcp', host: '::1', port: 8081, target: '[::1]:8081' });
  const refused: Array<[string, RegExp]> = [
    ['localhost', /must have a tcp:\/\/ or unix:\/\/ scheme/],
    ['localhost:8081', /must have a tcp:\/\/ or unix:\/\/ scheme/],
    ['/run/agent.sock', /must have a tcp:\/\/ or unix:\/\/ scheme/],
    ['http://127.0.0.1:80', /must have a tcp:\/\/ or unix:\/\/ scheme/],
    ['unix:run/agent.sock', /unix socket URI must not be opaque/],
    ['unix://', /unix socket URI must include a path/],
    ['unix://user@/x', /must not include user info/],
    ['unix:///x?y=1', /must not include query values/],
    ['unix:///x#f', /must not include a fragment/],
    ['tcp://localhost:8081', /host component must be an IP:port/],
    ['tcp://127.0.0.1', /host component must include a port/],
    ['tcp://127.0.0.1:8081/x', /tcp socket URI must not include a path/],
    ['tcp:127.0.0.1:8081', /tcp socket URI must not be opaque/],
  ];
  for (const [addr, why] of refused) {
    assert.throws(() => parseWorkloadApiAddress(addr, 'f'), (err: unknown) => isMeshgateError(err, 'MG_WORKLOAD_API_ADDR_INVALID') && why.test(err.message) && err.message.startsWith('f: '), addr);
  }
});

test('concatenated DER certificates are split; garbage and truncation are errors, not crashes', () => {
  assert.deepEqual(splitDerCertificates(Buffer.alloc(0), 'b'), []);
  assert.throws(() => splitDerCertificates(Buffer.from([0x04, 0x01, 0x00]), 'b'), /b: not a DER certificate at byte 0/);
  assert.throws(() => splitDerCertificates(Buffer.from([0x30, 0x82, 0x10, 0x00, 0x01]), 'b'), /b: truncated DER certificate/);
  assert.throws(() => splitDerCertificates(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]), 'b'), (err: unknown) => isMeshgateError(err, 'MG_WORKLOAD_API_RESPONSE_INVALID'));
});
