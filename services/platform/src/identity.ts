// Who a request is for: the identity a signed-in user has, and the headers that name it between services.
// A service believes them only with a valid internal token (internal-token.ts, auth.ts).

export const IDENTITY_HEADERS = { userId: 'x-user-id', role: 'x-user-role', email: 'x-user-email' } as const;

export const ROLES = ['buyer', 'organizer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Identity {
  userId: string;
  role: Role;
  email?: string;
}
