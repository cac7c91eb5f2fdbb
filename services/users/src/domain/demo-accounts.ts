// The demo accounts of the local stack (created with DEMO_PASSWORD by use-cases/demo-seed.ts). A module of its
// own without run-time imports: the stack runner lists them in its banner without loading the users service's
// code and the platform with it (issue 19: that import was 1-2 s at the end of every npm start).
import type { Role } from '@eventtickets/platform';

export const demoAccounts: Array<{ email: string; name: string; role: Role }> = [
  { email: 'buyer@example.com', name: 'Demo Buyer', role: 'buyer' },
  { email: 'organizer@example.com', name: 'Demo Organizer', role: 'organizer' },
  { email: 'admin@example.com', name: 'Demo Admin', role: 'admin' },
];
