// The closed loop's HTTP client: one keep-alive TCP socket per buyer (each buyer has exactly one request in
// flight), the request written by hand from bytes built once (the buyer's head, each seat pair's body), the
// answer's status line and framing read here (Content-Length or chunked), its body kept as text. It replaces
// undici's Pool for the closed loop because the load generator shares the 2 cores with the stack it measures:
// every microsecond it spends is one the servers do not get. Every answer's status is still checked by the caller
// and a 201's body parsed (the invariant check needs the hold); a broken or closed connection fails the request
// in flight (counted as an error) and the next request opens a new one.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Reads one HTTP/1.1 response off a byte stream; returns it and how many bytes it took, or undefined if incomplete. */
export function parseResponse(buf: Buffer): { answer: RawAnswer; used: number; close: boolean } | undefined {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('HTTP/1.') || !Number.isInteger(status))
    throw new Error(`not an HTTP response: ${head.slice(0, 40)}`);
  const close = /\r\nconnection:[ \t]*close/i.test(head);
  let pos = headEnd + 4;
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (length) {
    const end = pos + Number(length[1]);
    if (buf.length < end) return undefined;
    return { answer: { status, body: buf.toString('utf8', pos, end) }, used: end, close };
  }
  if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos, 'latin1');
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
      if (!Number.isFinite(size)) throw new Error('bad chunk size');
      const dataEnd = lineEnd + 2 + size;
      if (buf.length < dataEnd + 2) return undefined;
      if (size === 0) {
        // no trailers expected: the last chunk is "0\r\n\r\n"
        return { answer: { status, body: Buffer.concat(parts).toString('utf8') }, used: dataEnd + 2, close };
      }
      parts.push(buf.subarray(lineEnd + 2, dataEnd));
      pos = dataEnd + 2;
    }
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200))
    return { answer: { status, body: '' }, used: pos, close };
  throw new Error(`response without Content-Length or chunked framing (status ${status})`);
}

/** One buyer's connection to the gateway: one request at a time. */
export class HoldConnection {
  private socket: Socket | undefined;
  private pending: Buffer | undefined;
  private waiting: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(gatewayUrl: string) {
    const url = new URL(gatewayUrl);
    if (url.protocol !== 'http:') throw new Error(`the hold client speaks plain HTTP only: ${gatewayUrl}`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** The Host header value requests must carry. */
  get authority(): string {
    return `${this.host}:${this.port}`;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      if (this.socket !== socket) return; // a connection already given up (the server said close)
      this.socket = undefined;
      this.pending = undefined;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.pending);
    } catch (err) {
      this.socket?.destroy(err as Error);
      return;
    }
    if (!parsed) return;
    this.pending = parsed.used < this.pending.length ? this.pending.subarray(parsed.used) : undefined;
    if (parsed.close) {
      const socket = this.socket;
      this.socket = undefined;
      socket?.end();
    }
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(parsed.answer);
  }

  /** Sends one complete request (head and body, as written by the caller) and resolves with the answer. */
  send(request: string): Promise<RawAnswer> {
    if (this.waiting) return Promise.reject(new Error('one request at a time per connection'));
    const socket = this.socket ?? this.open();
    return new Promise<RawAnswer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(request, 'latin1');
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
