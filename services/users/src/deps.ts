// What the users app needs, built by main.ts (or a test) and passed to createApp.
import type { Logger, Metrics, Sequelize } from '@eventtickets/platform';
import type { PasswordHasher } from './domain/passwords.ts';
import type { SigningKeyStore } from './use-cases/signing-keys.ts';
import type { BackoffPolicy } from './domain/backoff.ts';
import type { AccessTokenSettings } from './use-cases/access-tokens.ts';

export interface UsersDeps {
  db: Sequelize;
  logger: Logger;
  metrics: Metrics;
  passwords: PasswordHasher;
  keys: SigningKeyStore;
  accessTokens: AccessTokenSettings;
  refreshTokenTtlDays: number;
  backoff: BackoffPolicy;
}
