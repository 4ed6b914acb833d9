/**
 * The SPIFFE Workload API's gRPC definition in code (workload.proto beside this file is the same, as text; the
 * build ships no .proto file), with the TypeScript shapes of the messages as grpc-js hands them over (`keepCase`:
 * snake_case field names; bytes as Buffers; absent fields filled with their defaults). This module imports grpc-js:
 * load it with `await import()` only where a Workload API is configured — a plain gateway or agent never pays for it.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

const bytes = (id: number) => ({ type: 'bytes', id });
const string = (id: number) => ({ type: 'string', id });

/** protobufjs JSON of workload.proto (no package: the service is `SpiffeWorkloadAPI` at the root). */
export const WORKLOAD_API_JSON = {
  nested: {
    X509SVIDRequest: { fields: {} },
    X509SVIDResponse: {
      fields: {
        svids: { rule: 'repeated', type: 'X509SVID', id: 1 },
        crl: { rule: 'repeated', type: 'bytes', id: 2 },
        federated_bundles: { keyType: 'string', type: 'bytes', id: 3 },
      },
    },
    X509SVID: { fields: { spiffe_id: string(1), x509_svid: bytes(2), x509_svid_key: bytes(3), bundle: bytes(4), hint: string(5) } },
    X509BundlesRequest: { fields: {} },
    X509BundlesResponse: {
      fields: { crl: { rule: 'repeated', type: 'bytes', id: 1 }, bundles: { keyType: 'string', type: 'bytes', id: 2 } },
    },
    JWTSVID: { fields: { spiffe_id: string(1), svid: string(2), hint: string(3) } },
    JWTSVIDRequest: { fields: { audience: { rule: 'repeated', type: 'string', id: 1 }, spiffe_id: string(2) } },
    JWTSVIDResponse: { fields: { svids: { rule: 'repeated', type: 'JWTSVID', id: 1 } } },
    JWTBundlesRequest: { fields: {} },
    JWTBundlesResponse: { fields: { bundles: { keyType: 'string', type: 'bytes', id: 1 } } },
    ValidateJWTSVIDRequest: { fields: { audience: string(1), svid: string(2) } },
    ValidateJWTSVIDResponse: { fields: { spiffe_id: string(1), claims: { type: 'google.protobuf.Struct', id: 2 } } },
    SpiffeWorkloadAPI: {
      methods: {
        FetchJWTSVID: { requestType: 'JWTSVIDRequest', responseType: 'JWTSVIDResponse' },
        FetchJWTBundles: { requestType: 'JWTBundlesRequest', responseType: 'JWTBundlesResponse', responseStream: true },
        ValidateJWTSVID: { requestType: 'ValidateJWTSVIDRequest', responseType: 'ValidateJWTSVIDResponse' },
        FetchX509SVID: { requestType: 'X509SVIDRequest', responseType: 'X509SVIDResponse', responseStream: true },
        FetchX509Bundles: { requestType: 'X509BundlesRequest', responseType: 'X509BundlesResponse', responseStream: true },
      },
    },
    // google/protobuf/struct.proto, for ValidateJWTSVIDResponse.claims, with the field names protobufjs gives its copy.
    google: {
      nested: {
        protobuf: {
          nested: {
            Struct: { fields: { fields: { keyType: 'string', type: 'Value', id: 1 } } },
            Value: {
              oneofs: { kind: { oneof: ['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'] } },
              fields: {
                nullValue: { type: 'NullValue', id: 1 },
                numberValue: { type: 'double', id: 2 },
                stringValue: string(3),
                boolValue: { type: 'bool', id: 4 },
                structValue: { type: 'Struct', id: 5 },
                listValue: { type: 'ListValue', id: 6 },
              },
            },
            ListValue: { fields: { values: { rule: 'repeated', type: 'Value', id: 1 } } },
            NullValue: { values: { NULL_VALUE: 0 } },
          },
        },
      },
    },
  },
};

/** The options both sides load the definition with (the test loads workload.proto with the same). */
export const LOAD_OPTIONS = { keepCase: true, defaults: true, longs: String, enums: String, oneofs: true } as const;

export interface X509Svid {
  spiffe_id: string;
  x509_svid: Buffer;
  x509_svid_key: Buffer;
  bundle: Buffer;
  hint: string;
}

export interface X509SvidResponse {
  svids: X509Svid[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}

export interface X509BundlesResponse {
  crl: Buffer[];
  bundles: Record<string, Buffer>;
}

/** The metadata every Workload API call must carry (SPIFFE Workload Endpoint: the anti-SSRF security header). */
export const SECURITY_HEADER = 'workload.spiffe.io';

/** grpc-js's package definition: every message's descriptor, by name (the test compares them with workload.proto's). */
export const packageDefinition = fromJSON(WORKLOAD_API_JSON as unknown as Parameters<typeof fromJSON>[0], LOAD_OPTIONS);
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as { SpiffeWorkloadAPI: grpc.ServiceClientConstructor };

/** Client constructor for SpiffeWorkloadAPI. */
export const WorkloadApiClient = loaded.SpiffeWorkloadAPI;
/** Service definition for `server.addService(workloadApiService, handlers)`. */
export const workloadApiService: grpc.ServiceDefinition = WorkloadApiClient.service;

export { grpc };
