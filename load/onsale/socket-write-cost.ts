// What one socket write of the gateway's fan-out costs (issue 14, live viewers): N SSE responses of a node:http
// server on loopback, read by a child process, and one ~300-byte `changes` message written to all of them,
// timed per socket as CPU of this process (user and system, process.cpuUsage) and wall clock, two ways:
//   res.write(buf)                    what the hub did before 2026-12-02: per call a chunk header (hex length
//                                     string), cork, four buffers and a nextTick uncork (one writev)
//   socket.write(pre-framed chunk)    what it does now: the message framed once as an HTTP/1.1 chunk, the same
//                                     Buffer written straight to every socket
// The kernel's part (system time: a loopback write runs the receiver's TCP path too) is the same for both.
//
//   node load/onsale/socket-write-cost.ts            (N=10000 SIZE=300 ROUNDS=4 in the environment to change)
import http from 'node:http';
import net from 'node:net';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === 'client') {
  // the readers: N raw sockets, each asks for the stream and discards what comes
  const [port, n] = [Number(process.argv[3]), Number(process.argv[4])];
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /stream HTTP/1.1\r\nHost: bench\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
  }
} else {
  const N = Number(process.env.N ?? 10_000);
  const SIZE = Number(process.env.SIZE ?? 300);
  const ROUNDS = Number(process.env.ROUNDS ?? 4);
  const responses: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('retry: 2000\n\n');
    responses.push(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as net.AddressInfo).port;
  const child = fork(fileURLToPath(import.meta.url), ['client', String(port), String(N)]);
  while (responses.length < N) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1_000));
  const change = '{"eventId":"e","seq":1,"seats":{"s00001":"held","s00002":"held"},"ga":[]}';
  const payload = Buffer.from(`event: changes\nid: 1\ndata: [${change.padEnd(SIZE - 35, ' ')}]\n\n`);
  const chunk = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')]);
  const ways: [string, (res: http.ServerResponse) => void][] = [
    ['res.write(buf)', (res) => void res.write(payload)],
    ['socket.write(pre-framed chunk)', (res) => void res.socket!.write(chunk)],
  ];
  const totals = new Map<string, { user: number; system: number; wall: number }>();
  for (let round = 0; round < ROUNDS; round++)
    for (const [name, write] of ways) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const res of responses) write(res);
      await new Promise((r) => process.nextTick(r)); // res.write's uncorks (the writev syscalls) run here
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      const t = totals.get(name) ?? { user: 0, system: 0, wall: 0 };
      totals.set(name, { user: t.user + c.user, system: t.system + c.system, wall: t.wall + wall * 1000 });
      const us = (v: number) => (v / N).toFixed(2);
      console.log(
        `${name.padEnd(32)} ${N} sockets, ${payload.length} B: CPU ${us(c.user + c.system)} µs/socket (user ${us(c.user)}, system ${us(c.system)}), wall ${us(wall * 1000)} µs/socket`,
      );
      await new Promise((r) => setTimeout(r, 500)); // the readers drain
    }
  for (const [name, t] of totals) {
    const us = (v: number) => (v / N / ROUNDS).toFixed(2);
    console.log(
      `mean ${name.padEnd(27)} CPU ${us(t.user + t.system)} µs/socket (user ${us(t.user)}, system ${us(t.system)}), wall ${us(t.wall)}`,
    );
  }
  child.kill();
  server.closeAllConnections();
  server.close();
}
