// Demo accounts for the local stack (DEMO_PASSWORD set): created once, existing ones left as they are.
import { enqueueEvent, withRetryingTransaction } from '@eventtickets/platform';
import { defaultNotificationPrefs, userEventPayload } from '../domain/user.ts';
import { demoAccounts } from '../domain/demo-accounts.ts';
import { findUserByEmail, insertUser } from '../db/users.ts';
import type { UsersDeps } from '../deps.ts';

export { demoAccounts };

/** Returns the e-mails it created (empty on a second run). */
export async function ensureDemoUsers(
  deps: Pick<UsersDeps, 'db' | 'passwords' | 'logger'>,
  password: string,
): Promise<string[]> {
  const created: string[] = [];
  for (const account of demoAccounts) {
    if (await findUserByEmail(deps.db, account.email)) continue;
    const passwordHash = await deps.passwords.hash(password);
    const user = await withRetryingTransaction(deps.db, async (t) => {
      // ON CONFLICT DO NOTHING: two replicas seeding at once create each account once.
      const inserted = await insertUser(deps.db, t, {
        ...account,
        phone: null,
        notificationPrefs: { ...defaultNotificationPrefs },
        organizerRequested: false,
        passwordHash,
      });
      if (inserted)
        await enqueueEvent(deps.db, t, {
          type: 'user.registered',
          aggregateId: inserted.id,
          payload: userEventPayload(inserted),
        });
      return inserted;
    });
    if (user) created.push(user.email);
  }
  if (created.length) deps.logger.info({ created }, 'demo users created');
  return created;
}
