// Business metrics of the users service (on the service's registry next to the platform's RED and bus metrics),
// every name prefixed with users_.
import { prom } from '@eventtickets/platform';

export interface UsersMetrics {
  logins: prom.Counter<'outcome'>;
  refreshes: prom.Counter<'outcome'>;
  registrations: prom.Counter;
}

export function createUsersMetrics(registry: prom.Registry): UsersMetrics {
  const registers = [registry];
  return {
    logins: new prom.Counter({
      name: 'users_logins_total',
      help: 'Login attempts by outcome (success, invalid, locked: this client slowed, locked-account: every unknown client slowed, busy: refused or abandoned while the password check waited)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    refreshes: new prom.Counter({
      name: 'users_token_refreshes_total',
      help: 'Refresh-token uses by outcome (success, or the problem slug, e.g. refresh-token-reused)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    registrations: new prom.Counter({ name: 'users_registrations_total', help: 'Accounts registered', registers }),
  };
}
