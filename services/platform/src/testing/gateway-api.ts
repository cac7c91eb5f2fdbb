// A JSON client of a running gateway (the local stack, the e2e and browser tests, the load benches): the one
// fetch wrapper for calls through the public API.

export interface GatewayReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body; the text when it is not JSON; undefined when empty. */
  body: any;
}

export interface GatewayCallOptions {
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Sent as JSON (with its content-type). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Abort the call (and throw) after this many ms; no bound when absent. */
  abortMs?: number;
}

export type GatewayApi = (method: string, path: string, opts?: GatewayCallOptions) => Promise<GatewayReply>;

/** `api(method, path, { token, body, headers, abortMs })` against the gateway at `base`. */
export function gatewayApi(base: string): GatewayApi {
  return async (method, path, opts = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.abortMs === undefined ? undefined : AbortSignal.timeout(opts.abortMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: the text */
    }
    return { status: res.status, headers: res.headers, body };
  };
}
