/** Peer: the smallest proxy on undici's `request` API and node http (no features at all). */
import http from 'node:http';
import { Pool } from 'undici';

const [port, target] = [Number(process.argv[2]), process.argv[3]!];
const pool = new Pool(target, { connections: 256 });
http.createServer((req, res) => {
  pool.request({ path: req.url!, method: req.method as 'GET', headers: { host: req.headers.host ?? '' } }).then(
    (up) => {
      res.writeHead(up.statusCode, up.headers as http.OutgoingHttpHeaders);
      up.body.pipe(res);
    },
    () => { res.writeHead(502); res.end('Bad Gateway'); },
  );
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
