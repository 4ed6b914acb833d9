/**
 * The standard gRPC health protocol (grpc.health.v1.Health/Check), defined in code so no .proto file ships.
 * Exported for Meshgate parts that serve health themselves and for tests that stand up a real health server.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

const HEALTH_PROTO = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
                    Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}

// enums as names and default values filled in: a missing status field reads as UNKNOWN, as in protobuf.
const packageDefinition = fromJSON(HEALTH_PROTO as unknown as Parameters<typeof fromJSON>[0], { enums: String, defaults: true, keepCase: true });
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

/** Client constructor for grpc.health.v1.Health. */
export const HealthClient = loaded.grpc.health.v1.Health;
/** Service definition for `server.addService(healthService, { Check, Watch })`. */
export const healthService: grpc.ServiceDefinition = HealthClient.service;

/** Go's names for gRPC status codes, as they appear in `rpc error: code = … desc = …`. */
export const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
] as const;
