/**
 * The SPIFFE Workload API of `meshgate agent` (spiffe_workload_api block, -workload-api-* flags): a gRPC server on
 * a unix socket (or tcp://IP:port, for tests and platforms without unix sockets) serving one service's X.509 SVID.
 * The agent has no kernel attestation of its callers, so the socket IS the authorization: one socket serves one
 * configured service identity, and only who can open the socket file (mode 0600 by default, owner = the agent's
 * user) gets it. The socket is bound inside a fresh 0700 directory, given its mode, then renamed into place, so it
 * is never reachable with a looser mode. Every call must carry the `workload.spiffe.io: true` security header
 * (else InvalidArgument, SPIFFE Workload Endpoint §4). FetchX509SVID and FetchX509Bundles answer at once when the
 * identity is known (else as soon as it is) and again on every leaf renewal or root change; the JWT-SVID profile
 * answers Unimplemented — the Connect CA issues X.509 SVIDs only.
 * This module loads grpc-js (through lib/workload-api/definition.ts): the agent imports it only when configured.
 */
import { lstat, mkdtemp, chmod, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { grpc, SECURITY_HEADER, workloadApiService, type X509BundlesResponse, type X509SvidResponse } from '../../lib/workload-api/definition.ts';
import { parseWorkloadApiAddress } from '../../lib/workload-api/address.ts';
import type { Logger } from '../../lib/logger.ts';
import { AgentErrors } from '../errors.ts';
import type { ServerPool } from '../server-pool.ts';
import { WorkloadIdentity, type WorkloadMaterial } from './identity.ts';
import type { WorkloadApiSettings } from './settings.ts';

export interface RunningWorkloadApi {
  /** `unix:///path` or `tcp://IP:port` (the port bound, when 0 was asked). */
  readonly address: string;
  readonly identity: WorkloadIdentity;
  close(): Promise<void>;
}

export interface WorkloadApiDeps {
  readonly servers: ServerPool;
  readonly defaultToken: () => string;
  readonly logger: Logger;
}

const UNIMPLEMENTED = 'meshgate agent serves the X.509-SVID profile only: the Connect CA issues no JWT-SVIDs';

export async function startWorkloadApi(settings: WorkloadApiSettings, deps: WorkloadApiDeps): Promise<RunningWorkloadApi> {
  const socket = settings.socket.startsWith('/') ? `unix://${settings.socket}` : settings.socket;
  const addr = parseWorkloadApiAddress(socket, 'spiffe_workload_api.socket');
  const logger = deps.logger.child({ component: 'workload-api' });
  const identity = new WorkloadIdentity({
    servers: deps.servers, service: settings.service, logger, token: () => settings.token ?? deps.defaultToken(),
  });
  const open = new Set<Grpc.ServerWritableStream<unknown, unknown>>();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(workloadApiService, {
    FetchX509SVID: (call: Grpc.ServerWritableStream<unknown, X509SvidResponse>) => stream(call, (m) => ({
      svids: [{ spiffe_id: m.spiffeId, x509_svid: m.chain, x509_svid_key: m.key, bundle: m.bundle, hint: '' }],
      crl: [],
      federated_bundles: {},
    })),
    FetchX509Bundles: (call: Grpc.ServerWritableStream<unknown, X509BundlesResponse>) => stream(call, (m) => ({ crl: [], bundles: { [m.trustDomainId]: m.bundle } })),
    FetchJWTSVID: (call: Grpc.ServerUnaryCall<unknown, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      callback(refusal(call.metadata) ?? { code: grpc.status.UNIMPLEMENTED, details: UNIMPLEMENTED });
    },
    ValidateJWTSVID: (call: Grpc.ServerUnaryCall<unknown, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      callback(refusal(call.metadata) ?? { code: grpc.status.UNIMPLEMENTED, details: UNIMPLEMENTED });
    },
    FetchJWTBundles: (call: Grpc.ServerWritableStream<unknown, unknown>) => {
      call.emit('error', refusal(call.metadata) ?? { code: grpc.status.UNIMPLEMENTED, details: UNIMPLEMENTED });
    },
  });

  /** A complete answer now (if the identity is known) and on every change, until the caller goes away. */
  function stream<T>(call: Grpc.ServerWritableStream<unknown, T>, answer: (m: WorkloadMaterial) => T): void {
    const refused = refusal(call.metadata);
    if (refused) {
      call.emit('error', refused);
      return;
    }
    const send = (m: WorkloadMaterial) => void call.write(answer(m));
    const stop = () => {
      identity.off('change', send);
      open.delete(call as Grpc.ServerWritableStream<unknown, unknown>);
    };
    identity.on('change', send);
    open.add(call as Grpc.ServerWritableStream<unknown, unknown>);
    call.once('cancelled', stop);
    call.once('close', stop);
    if (identity.current) send(identity.current);
  }

  const listening = await listen(server, addr, settings.socketMode);
  identity.start();
  logger.info({ address: listening.address, service: settings.service }, 'SPIFFE Workload API listening');
  let closing: Promise<void> | undefined;
  return {
    address: listening.address,
    identity,
    close() {
      closing ??= (async () => {
        identity.stop();
        for (const call of open) call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the agent is shutting down' });
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2_000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await listening.cleanup();
      })();
      return closing;
    },
  };
}

/** InvalidArgument unless the call carries exactly `workload.spiffe.io: true` (the spec's anti-SSRF header). */
function refusal(metadata: Grpc.Metadata): Partial<Grpc.StatusObject> | undefined {
  const values = metadata.get(SECURITY_HEADER);
  if (values.length === 1 && String(values[0]) === 'true') return undefined;
  return { code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' };
}

async function listen(server: Grpc.Server, addr: ReturnType<typeof parseWorkloadApiAddress>, mode: number): Promise<{ address: string; cleanup(): Promise<void> }> {
  const bind = (target: string) => new Promise<number>((resolve, reject) => {
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  if (addr.kind === 'tcp') {
    const port = await bind(addr.target);
    const host = addr.target.slice(0, addr.target.lastIndexOf(':'));
    return { address: `tcp://${host}:${port}`, cleanup: async () => {} };
  }
  const path = addr.path;
  await removeStaleSocket(path);
  // Bound in a private (0700) directory, chmod-ed, then moved into place: never reachable with the default mode.
  const staging = await mkdtemp(join(dirname(path), '.mg-workload-api-'));
  try {
    const staged = join(staging, 'api.sock');
    await bind(`unix://${staged}`);
    await chmod(staged, mode);
    await rename(staged, path);
  } catch (err) {
    server.forceShutdown();
    throw AgentErrors.invalid(`spiffe_workload_api.socket: cannot listen on ${path}: ${(err as Error).message}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const { ino } = await lstat(path);
  return {
    address: `unix://${path}`,
    // The socket was renamed, so the listener's own unlink on close misses it; remove it unless something replaced it.
    async cleanup() {
      const now = await lstat(path).catch(() => undefined);
      if (now?.ino === ino) await unlink(path).catch(() => undefined);
    },
  };
}

/** A socket file left by an earlier run is removed; any other file at that path is an error, never deleted. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw AgentErrors.invalid(`spiffe_workload_api.socket: ${path} exists and is not a socket`);
  await unlink(path);
}
