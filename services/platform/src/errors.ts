// Errors: RFC 9457 problem+json with stable type URIs, and the one Koa error middleware that renders them.
import type { Context, Next } from 'koa';
import type { Logger } from './logger.ts';

export const PROBLEM_BASE = 'https://eventtickets.dev/problems/';

const defaultSlugByStatus: Record<number, [slug: string, title: string]> = {
  400: ['bad-request', 'Bad request'],
  401: ['unauthorized', 'Authentication required'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  406: ['not-acceptable', 'Not acceptable'],
  409: ['conflict', 'Conflict'],
  410: ['gone', 'Gone'],
  413: ['payload-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  422: ['unprocessable', 'Unprocessable request'],
  429: ['rate-limited', 'Too many requests'],
  500: ['internal', 'Internal server error'],
  501: ['not-implemented', 'Not implemented'],
  502: ['bad-gateway', 'Bad gateway'],
  503: ['unavailable', 'Service unavailable'],
  504: ['gateway-timeout', 'Gateway timeout'],
};

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** An error that is meant for the client: it becomes a problem+json response as-is. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail?: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail?: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    // A client error is an answer, not a fault: capturing its stack (async frames included) was ~0.1 ms of a
    // refused hold's CPU. 5xx problems keep their stack for the logs.
    const stackTraceLimit = Error.stackTraceLimit;
    if (status < 500) Error.stackTraceLimit = 0;
    try {
      super(detail ?? title);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'HttpProblem';
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.detail = detail;
    this.extensions = extensions;
    this.headers = headers;
  }

  get type(): string {
    return PROBLEM_BASE + this.slug;
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export interface FieldError {
  field: string;
  message: string;
}

export const problems = {
  validation: (errors: FieldError[], detail = 'The request does not match the contract') =>
    new HttpProblem(400, 'validation-error', 'Invalid request', detail, { errors }),
  badRequest: (detail: string, slug = 'bad-request') => new HttpProblem(400, slug, 'Bad request', detail),
  unauthorized: (detail = 'Authentication required', slug = 'unauthorized') =>
    new HttpProblem(401, slug, 'Unauthorized', detail),
  forbidden: (detail = 'You may not do this', slug = 'forbidden') => new HttpProblem(403, slug, 'Forbidden', detail),
  notFound: (detail = 'No such resource', slug = 'not-found') => new HttpProblem(404, slug, 'Not found', detail),
  conflict: (detail: string, slug = 'conflict', extensions: Record<string, unknown> = {}) =>
    new HttpProblem(409, slug, 'Conflict', detail, extensions),
  unprocessable: (detail: string, slug = 'unprocessable', extensions: Record<string, unknown> = {}) =>
    new HttpProblem(422, slug, 'Unprocessable request', detail, extensions),
  tooManyRequests: (retryAfterSeconds: number, detail = 'Too many requests; retry later') =>
    new HttpProblem(429, 'rate-limited', 'Too many requests', detail, {}, { 'Retry-After': String(retryAfterSeconds) }),
  badGateway: (detail = 'The upstream service failed') => new HttpProblem(502, 'bad-gateway', 'Bad gateway', detail),
  unavailable: (detail = 'Service unavailable') => new HttpProblem(503, 'unavailable', 'Service unavailable', detail),
  gatewayTimeout: (detail = 'The upstream service did not answer in time') =>
    new HttpProblem(504, 'gateway-timeout', 'Gateway timeout', detail),
};

/** Turns anything thrown into a problem: HttpProblem as-is, Koa/http-errors by status, the rest a 500. */
export function toProblem(err: unknown): { problem: HttpProblem; unexpected: boolean } {
  if (err instanceof HttpProblem) return { problem: err, unexpected: false };
  const e = err as {
    status?: number;
    statusCode?: number;
    expose?: boolean;
    message?: string;
    headers?: Record<string, string>;
  } | null;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600 && status !== 500) {
    const [slug, title] =
      defaultSlugByStatus[status] ??
      (status < 500 ? ['bad-request', 'Bad request'] : ['internal', 'Internal server error']);
    // Only errors that say their message is for clients (http-errors / ctx.throw set expose) show it: a library
    // error that merely carries a status may hold internals (SQL, hosts, paths).
    const detail = e?.expose === true && status < 500 ? e?.message : undefined;
    return { problem: new HttpProblem(status, slug, title, detail, {}, e?.headers ?? {}), unexpected: status >= 500 };
  }
  return {
    problem: new HttpProblem(500, 'internal', 'Internal server error', 'An unexpected error occurred'),
    unexpected: true,
  };
}

export function sendProblem(ctx: Context, problem: HttpProblem): void {
  ctx.status = problem.status;
  for (const [k, v] of Object.entries(problem.headers)) ctx.set(k, v);
  ctx.body = { ...problem.toBody(ctx.path), ...(ctx.state.requestId ? { requestId: ctx.state.requestId } : {}) };
  ctx.type = 'application/problem+json';
}

function emptyStatusProblem(ctx: Context): HttpProblem {
  if (ctx.status === 404) return problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
  if (ctx.status === 405)
    return new HttpProblem(
      405,
      'method-not-allowed',
      'Method not allowed',
      `${ctx.method} is not allowed on ${ctx.path}${ctx.response.get('Allow') ? ` (allowed: ${ctx.response.get('Allow')})` : ''}`,
    );
  return toProblem({ status: ctx.status, expose: false }).problem;
}

/** The one error middleware: renders problem+json; unexpected errors are logged and never leak internals. */
export function errorMiddleware(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      // An error status set without a body (no route: 404; @koa/router allowedMethods: 405 or 501) still
      // answers problem+json; headers already set (Allow) stay.
      if (
        ctx.status >= 400 &&
        defaultSlugByStatus[ctx.status] &&
        ctx.body == null &&
        ctx.respond !== false &&
        ctx.writable
      )
        sendProblem(ctx, emptyStatusProblem(ctx));
    } catch (err) {
      const { problem, unexpected } = toProblem(err);
      if (unexpected) logger.error({ err, path: ctx.path, method: ctx.method }, 'unhandled error');
      if (ctx.headerSent || !ctx.writable) return;
      sendProblem(ctx, problem);
    }
  };
}

/** Node answers a request it cannot parse (headers or URL too large: 431, a malformed request: 400, a request
 *  that took too long to arrive: 408) itself, before any Koa middleware, with an empty body. This
 *  `clientError` listener answers with a problem+json body like every other error, then closes the socket. */
export function problemClientErrorHandler(err: Error & { code?: string }, socket: import('node:stream').Duplex): void {
  const pending = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const problem =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new HttpProblem(
          431,
          'request-header-fields-too-large',
          'Request header fields too large',
          'The request line or headers are too large',
        )
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HttpProblem(408, 'request-timeout', 'Request timeout', 'The request did not arrive in time')
        : problems.badRequest('The request is not valid HTTP', 'malformed-request');
  const body = JSON.stringify(problem.toBody());
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[problem.status];
  socket.end(
    `HTTP/1.1 ${problem.status} ${reason}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
