// One-off start-up steps, after migrations and before the service listens: the signing key (created on a fresh
// database, so the JWKS is never empty) and, when DEMO_PASSWORD is set (the local stack), the demo accounts.
import type { UsersDeps } from '../deps.ts';
import { ensureDemoUsers } from './demo-seed.ts';

export async function prepareStart(deps: UsersDeps): Promise<void> {
  const keys = await deps.keys.list();
  deps.logger.info({ source: deps.keys.source, kids: keys.map((k) => k.kid) }, 'signing keys loaded');
  if (deps.config.DEMO_PASSWORD) await ensureDemoUsers(deps, deps.config.DEMO_PASSWORD);
}
