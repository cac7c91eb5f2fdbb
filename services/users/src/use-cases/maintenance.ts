// The periodic maintenance every replica runs (workers.ts): prunes rows that no longer mean anything.
import { pruneStaleRows } from '../db/maintenance.ts';
import type { UsersDeps } from '../deps.ts';

export async function runMaintenance(deps: Pick<UsersDeps, 'db' | 'logger' | 'backoff' | 'config'>): Promise<void> {
  const pruned = await pruneStaleRows(deps.db, {
    forgetAfterSeconds: deps.backoff.forgetAfterSeconds,
    knownClientSeconds: deps.backoff.knownClientSeconds,
    registerWindowSeconds: deps.config.REGISTER_CONFLICT_WINDOW_SECONDS,
  });
  if (pruned.loginFailures || pruned.refreshTokens || pruned.accessTokens)
    deps.logger.info(pruned, 'stale rows pruned');
}
