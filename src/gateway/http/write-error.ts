/** An error answered to the client in Go's http.Error shape: text/plain, nosniff, the status text and a newline. */
import type { ResponseHeaders, ResponseWriter } from './types.ts';
import { statusText } from '../../lib/http/status.ts';
import { prototypeFree } from '../../lib/http/headers.ts';

export function writeError(rw: ResponseWriter, code: number, body: string = statusText(code), extra?: ResponseHeaders): void {
  if (rw.headersSent) {
    rw.end();
    return;
  }
  const headers = prototypeFree<ResponseHeaders>();
  headers['content-type'] = 'text/plain; charset=utf-8';
  headers['x-content-type-options'] = 'nosniff';
  if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
  rw.writeHead(code, headers);
  rw.end(body);
}
