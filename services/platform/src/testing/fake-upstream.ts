// A fake upstream for tests of code that calls another service over HTTP (the gateway's proxy; orders
// calling inventory and payments): a real HTTP server on a free port that records every request it
// answers itself and, by default, answers JSON naming itself. A handler may answer instead (a stream, an
// error, a slow or hanging reply): it runs first, with the request body untouched.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import Koa, { type Context } from 'koa';
import { listen } from '../http.ts';

export interface SeenRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  bodySha256: string;
  bodyLength: number;
}

/**
 * Answers the request itself and returns true, or returns false to let the default answer (and recording)
 * happen. `record()` reads the body and adds the request to `seen`, for a handler that answers but still
 * wants the request recorded (call it only if the handler has not read the body itself).
 */
export type FakeUpstreamHandler = (ctx: Context, record: () => Promise<SeenRequest>) => boolean | Promise<boolean>;

export interface FakeUpstream {
  name: string;
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Requests recorded so far, oldest first. */
  seen: SeenRequest[];
  /** Stops the server; connections still open (streams, hanging requests) are cut after 100 ms. */
  close: () => Promise<void>;
}

async function readRequest(ctx: Context): Promise<SeenRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return {
    method: ctx.method,
    url: ctx.url,
    headers: { ...ctx.req.headers },
    body,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    bodyLength: body.length,
  };
}

/**
 * Starts a fake upstream named `name`. Unless `handler` answers, every request is recorded and answered
 * 200 `{ service: name, method, url }` with an `x-served-by: name` header.
 */
export async function startFakeUpstream(name: string, handler?: FakeUpstreamHandler): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const app = new Koa();
  app.use(async (ctx) => {
    const record = async () => {
      const request = await readRequest(ctx);
      seen.push(request);
      return request;
    };
    if (handler && (await handler(ctx, record))) return;
    await record();
    ctx.set('x-served-by', name);
    ctx.body = { service: name, method: ctx.method, url: ctx.url };
  });
  const server = await listen(app.callback(), 0);
  return { name, url: server.url, seen, close: () => server.close(100) };
}
