// Benchmark upstream: the smallest possible "catalog" answering GET /api/events/{id} with a fixed JSON
// body, so the benchmark measures the gateway and not the service. Prints its URL on stdout.
import http from 'node:http';

const body = JSON.stringify({
  id: 'e1',
  title: 'Benchmark night',
  venue: { id: 'v1', name: 'Hall' },
  startsAt: '2030-01-01T20:00:00Z',
});
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
