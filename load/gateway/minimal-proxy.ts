// Reference floor for the benchmark, not a gateway: the smallest reverse proxy Node can be (node:http in,
// one undici Agent out, same pool settings as the gateway, no auth/limits/logs/metrics/headers). It answers
// what any Node proxy costs on this machine, so the gateway's figures can be read against it:
//   BENCH_GATEWAY_ENTRY=load/gateway/minimal-proxy.ts BENCH_UPSTREAMS=trivial npm run bench:gateway
// Env as the gateway's: PORT, HOST, CATALOG_URL (every path goes there).
import http from 'node:http';
import { Agent } from 'undici';

const upstream = new URL(process.env.CATALOG_URL ?? 'http://127.0.0.1:8082');
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1 });
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

http
  .createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('{"status":"ok"}');
      return;
    }
    agent
      .request({
        origin: upstream.origin,
        path: req.url ?? '/',
        method: 'GET',
        headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      })
      .then((r) => {
        for (const [name, value] of Object.entries(r.headers))
          if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
        res.writeHead(r.statusCode);
        r.body.pipe(res);
      })
      .catch(() => {
        res.statusCode = 502;
        res.end();
      });
  })
  .listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
