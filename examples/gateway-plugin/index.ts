/**
 * An example gateway plugin in the shape of Traefik's plugindemo: adds configured headers to the request, with
 * `{{host}}`, `{{method}}` and `{{path}}` filled in from the request, and stamps the response with
 * `X-Plugin: <kind>`. Loaded by `experimental.localPlugins.demo.moduleName: ./examples/gateway-plugin`.
 */
import { z } from 'zod';
import type { GatewayPlugin } from '../../src/gateway/middlewares/plugins.ts';

const schema = z
  .object({
    headers: z.record(z.string(), z.string()).default({}),
    responseHeader: z.boolean().default(true),
  })
  .strict();

type DemoConfig = z.infer<typeof schema>;

const demo: GatewayPlugin<DemoConfig> = {
  kind: 'demo',
  schema,
  create(config) {
    // Compile the templates once: each header is a list of literal parts and request fields.
    const headers = Object.entries(config.headers).map(([name, template]) => {
      const parts = template.split(/(\{\{(?:host|method|path)\}\})/).filter((p) => p !== '');
      return [name.toLowerCase(), parts] as const;
    });
    const stamp = config.responseHeader;
    return (next) => (req, rw) => {
      const q = req.url.indexOf('?');
      const path = q === -1 ? req.url : req.url.slice(0, q);
      for (const [name, parts] of headers) {
        let value = '';
        for (const part of parts) {
          if (part === '{{host}}') value += req.host;
          else if (part === '{{method}}') value += req.method;
          else if (part === '{{path}}') value += path;
          else value += part;
        }
        req.headers[name] = value;
      }
      if (stamp) rw.headers['x-plugin'] = 'demo';
      return next(req, rw);
    };
  },
};

export default demo;
