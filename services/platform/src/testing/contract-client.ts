// The test kit's HTTP client for component tests: calls a service as a given identity (the headers the
// gateway sets) and checks every response, success or problem, against the service's openapi.yaml.
import { expect } from 'chai';
import { IDENTITY_HEADERS } from '../auth.ts';
import type { Contract } from '../contracts.ts';

export interface TestIdentity {
  userId: string;
  role: 'buyer' | 'organizer' | 'admin';
  email?: string;
}

export interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (malformed-input tests); content-type defaults to application/json. */
  rawBody?: string;
  as?: TestIdentity;
  headers?: Record<string, string>;
  /** Skip the contract check for this one call (a test that deliberately reads an off-contract answer). */
  unchecked?: boolean;
}

export type Call = (method: string, path: string, opts?: CallOptions) => Promise<Reply>;

const PROBLEM_TYPE = /^https:\/\/eventtickets\.dev\/problems\/[a-z0-9-]+$/;

/** A client for baseUrl whose every response must match contract (and be problem+json when 4xx/5xx). */
export function createContractClient(baseUrl: string, contract: Contract): Call {
  return async function call(method, path, o = {}) {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const body = o.body !== undefined ? JSON.stringify(o.body) : o.rawBody;
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    if (o.as) {
      headers[IDENTITY_HEADERS.userId] = o.as.userId;
      headers[IDENTITY_HEADERS.role] = o.as.role;
      if (o.as.email) headers[IDENTITY_HEADERS.email] = o.as.email;
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    const json = /json/.test(res.headers.get('content-type') ?? '');
    const parsed = text && json ? JSON.parse(text) : text || undefined;
    if (!o.unchecked) {
      const pathOnly = path.split('?')[0]!;
      expect(
        contract.responseErrors(method, pathOnly, res.status, parsed ?? null),
        `${method} ${path} → ${res.status} ${text.slice(0, 500)}`,
      ).to.deep.equal([]);
      if (res.status >= 400) {
        expect(res.headers.get('content-type'), `${method} ${path} → ${res.status}`).to.match(
          /^application\/problem\+json/,
        );
        expect(parsed?.type, `${method} ${path} → ${res.status}`).to.match(PROBLEM_TYPE);
      }
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
}
