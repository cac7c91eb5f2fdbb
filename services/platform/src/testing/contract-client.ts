// The test kit's HTTP client for component tests: calls a service as a given identity (what the gateway
// sends: an internal token signed with the suite's secret, and the identity headers it proves) or as another
// service (svc:<name>), and checks every response, success or problem, against the service's openapi.yaml.
import { expect } from 'chai';
import type { Contract } from '../contracts.ts';
import { createInternalTokenSigner, type InternalTokenSigner } from '../internal-token.ts';

/** The INTERNAL_TOKEN_SECRET of every component test: a service under test is configured with it, and the
 *  contract client and the gateway's tests sign and verify with it. */
export const TEST_INTERNAL_TOKEN_SECRET = 'test-internal-token-secret-0123456789abcdef';

/** A signed-in user, as the gateway forwards one. */
export interface TestIdentity {
  userId: string;
  role: 'buyer' | 'organizer' | 'admin';
  email?: string;
}

/** Another service acting on its own behalf (subject svc:<service>), e.g. orders on inventory's /internal routes. */
export interface TestService {
  service: string;
}

export interface ContractClientOptions {
  /** The service under test: the audience of the tokens `as` signs. */
  service: string;
  /** Default TEST_INTERNAL_TOKEN_SECRET. */
  secret?: string;
  /** Who signs user tokens (iss; the gateway in production). Default 'gateway'. */
  issuer?: string;
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
  /** Call as this user or service: an internal token for the service under test (and the x-user-* headers). */
  as?: TestIdentity | TestService;
  headers?: Record<string, string>;
  /** Skip the contract check for this one call (a test that deliberately reads an off-contract answer). */
  unchecked?: boolean;
}

export type Call = (method: string, path: string, opts?: CallOptions) => Promise<Reply>;

const PROBLEM_TYPE = /^https:\/\/eventtickets\.dev\/problems\/[a-z0-9-]+$/;

/** The headers a caller sends to `service` as a user or another service, signed with `secret`. */
export function internalHeaders(
  service: string,
  as: TestIdentity | TestService,
  opts: { secret?: string; issuer?: string } = {},
): Record<string, string> {
  const secret = opts.secret ?? TEST_INTERNAL_TOKEN_SECRET;
  if ('service' in as) return createInternalTokenSigner({ secret, issuer: as.service }).headers(service);
  return createInternalTokenSigner({ secret, issuer: opts.issuer ?? 'gateway' }).headers(service, as);
}

/** A client for baseUrl whose every response must match contract (and be problem+json when 4xx/5xx). `as`
 *  signs for `options.service` with the suite's secret (TEST_INTERNAL_TOKEN_SECRET unless given). */
export function createContractClient(baseUrl: string, contract: Contract, options: ContractClientOptions): Call {
  const secret = options.secret ?? TEST_INTERNAL_TOKEN_SECRET;
  const gateway: InternalTokenSigner = createInternalTokenSigner({ secret, issuer: options.issuer ?? 'gateway' });
  const services = new Map<string, InternalTokenSigner>();
  const signerFor = (service: string) => {
    let signer = services.get(service);
    if (!signer) services.set(service, (signer = createInternalTokenSigner({ secret, issuer: service })));
    return signer;
  };
  return async function call(method, path, o = {}) {
    const headers: Record<string, string> = {};
    if (o.as)
      Object.assign(
        headers,
        'service' in o.as ? signerFor(o.as.service).headers(options.service) : gateway.headers(options.service, o.as),
      );
    Object.assign(headers, o.headers); // a test's own headers win (a forged token, a stale one)
    const body = o.body !== undefined ? JSON.stringify(o.body) : o.rawBody;
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    const json = /json/.test(res.headers.get('content-type') ?? '');
    const parsed = text && json ? JSON.parse(text) : text || undefined;
    if (!o.unchecked) {
      const pathOnly = path.split('?')[0]!;
      expect(
        contract.responseErrors(
          method,
          pathOnly,
          res.status,
          parsed ?? null,
          res.headers.get('content-type') ?? undefined,
        ),
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
