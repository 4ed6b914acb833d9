/**
 * The data plane without the control plane (entry point → load balancer → proxy, metrics and access log on),
 * for when `runGateway` is not available: shows what the data plane itself costs.
 */
import { createEntryPoint } from '../../../src/gateway/entrypoints/entrypoint.ts';
import { entryPointSchema } from '../../../src/gateway/entrypoints/schema.ts';
import { buildServiceHandler, TransportRegistry, serviceSchema } from '../../../src/gateway/services/index.ts';
import { GatewayMetrics } from '../../../src/gateway/metrics/metrics.ts';
import { AccessLog } from '../../../src/gateway/accesslog/accesslog.ts';
import { accessLogSchema } from '../../../src/gateway/accesslog/schema.ts';
import { silentLogger } from '../../../src/lib/logger.ts';
import type { Handler } from '../../../src/gateway/http/types.ts';
import { tuneHeap } from '../../../src/gateway/runtime/heap.ts';

// As runGateway does in a gateway process (run.ts starts this process with gatewayNodeFlags(), as bin/meshgate does).
tuneHeap();

const [port, target, logFile] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!];
const metrics = new GatewayMetrics();
const transports = new TransportRegistry();
const svc = buildServiceHandler('bench@file', serviceSchema.parse({ loadBalancer: { servers: [{ url: target }] } }), {
  resolveService: () => { throw new Error('none'); }, transports, metrics, logger: silentLogger(),
});
const accessLog = new AccessLog(accessLogSchema.parse({ filePath: logFile, format: 'json', bufferingSize: 100 }));
const route: Handler = (req, rw) => {
  req.routerName = 'bench@file';
  req.serviceName = 'bench@file';
  return svc.handler(req, rw);
};
const ep = createEntryPoint({ name: 'web', config: entryPointSchema.parse({ address: `127.0.0.1:${port}` }), metrics, accessLog }, { handler: route });
await ep.listen();
process.send?.('ready');
process.on('SIGTERM', () => process.exit(0));
