// The calls orders makes to inventory and payments (platform service client, signed svc:orders per attempt).
import { HttpProblem, problems, UpstreamError, type ServiceClient } from '@eventtickets/platform';
import type { HoldView } from '../domain/types.ts';

export interface Upstreams {
  inventory: ServiceClient;
  payments: ServiceClient;
}

/** Reads a hold; undefined when inventory does not know it (or the id is not one of its ids). */
export async function readHold(inventory: ServiceClient, holdId: string): Promise<HoldView | undefined> {
  const res = await inventory.request<HoldView>('GET', `/internal/holds/${encodeURIComponent(holdId)}`, {
    allowStatuses: [400, 404],
  });
  return res.status === 200 ? res.body : undefined;
}

/** An upstream failure as this service's answer (a 4xx problem passes through, the rest 502/503/504). */
export function upstreamProblem(err: unknown): unknown {
  return err instanceof UpstreamError ? err.toHttpProblem() : err;
}

export function isProblem(err: unknown, slug: string): boolean {
  return err instanceof UpstreamError && err.problemType?.endsWith(`/${slug}`) === true;
}

export { HttpProblem, problems };
