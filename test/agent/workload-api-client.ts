/** A bare Workload API client for the tests: opens one server stream and queues what it receives. */
import type * as Grpc from '@grpc/grpc-js';
import { grpc, SECURITY_HEADER, WorkloadApiClient } from '../../src/lib/workload-api/definition.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';

export interface OpenStream<T> {
  readonly received: T[];
  /** Resolves with the n-th message (1-based), waiting for it. */
  nth(n: number): Promise<T>;
  /** Resolves with the status the stream ended with. */
  readonly ended: Promise<Grpc.StatusObject | Grpc.ServiceError>;
  close(): void;
}

export function openStream<T>(address: string, method: 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles', header: boolean | string = true): OpenStream<T> {
  const client = new WorkloadApiClient(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const metadata = new grpc.Metadata();
  if (header !== false) metadata.set(SECURITY_HEADER, header === true ? 'true' : header);
  const call = (client as unknown as Record<string, (req: object, md: Grpc.Metadata) => Grpc.ClientReadableStream<T>>)[method]!({}, metadata);
  const received: T[] = [];
  call.on('data', (m: T) => received.push(m));
  const ended = new Promise<Grpc.StatusObject | Grpc.ServiceError>((resolve) => {
    call.on('error', resolve);
    call.on('status', (s: Grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve(s);
    });
  });
  return {
    received,
    ended,
    async nth(n) {
      await waitFor(() => received.length >= n, `message ${n} of ${method}`, { deadlineMs: 60_000, intervalMs: 50 });
      return received[n - 1]!;
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** A unary call; resolves with the error (or undefined on success). */
export function unary(address: string, method: 'FetchJWTSVID' | 'ValidateJWTSVID', header = true): Promise<Grpc.ServiceError | undefined> {
  const client = new WorkloadApiClient(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const metadata = new grpc.Metadata();
  if (header) metadata.set(SECURITY_HEADER, 'true');
  return new Promise<Grpc.ServiceError | undefined>((resolve) => {
    (client as unknown as Record<string, (req: object, md: Grpc.Metadata, cb: (err: Grpc.ServiceError | null) => void) => void>)[method]!({ audience: ['x'] }, metadata, (err) => resolve(err ?? undefined));
  }).finally(() => client.close());
}
