// The user as the API and the domain events show it.
import type { Role } from '@eventtickets/platform';

export interface NotificationPrefs {
  email: boolean;
  sms: boolean;
}

export const defaultNotificationPrefs: NotificationPrefs = { email: true, sms: false };

export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  phone: string | null;
  notificationPrefs: NotificationPrefs;
  organizerRequested: boolean;
  passwordHash: string;
  createdAt: Date;
}

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  phone: string | null;
  notificationPrefs: NotificationPrefs;
  organizerRequested: boolean;
  createdAt: string;
}

export function toUserView(u: UserRecord): UserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    phone: u.phone,
    notificationPrefs: { ...u.notificationPrefs },
    organizerRequested: u.organizerRequested,
    createdAt: u.createdAt.toISOString(),
  };
}

/** Payload of user.registered / user.updated (docs/CONVENTIONS.md). */
export function userEventPayload(u: UserRecord): {
  userId: string;
  email: string;
  name: string;
  phone: string | null;
  role: Role;
  notificationPrefs: NotificationPrefs;
} {
  return {
    userId: u.id,
    email: u.email,
    name: u.name,
    phone: u.phone,
    role: u.role,
    notificationPrefs: { ...u.notificationPrefs },
  };
}

export interface ProfilePatch {
  name?: string;
  phone?: string | null;
  notificationPrefs?: Partial<NotificationPrefs>;
}

/** Applies a profile patch; returns the new fields, or an error slug when the result is inconsistent. */
export function applyProfilePatch(
  u: Pick<UserRecord, 'name' | 'phone' | 'notificationPrefs'>,
  patch: ProfilePatch,
): { name: string; phone: string | null; notificationPrefs: NotificationPrefs } | { error: 'phone-required-for-sms' } {
  const next = {
    name: patch.name !== undefined ? patch.name.trim() : u.name,
    phone: patch.phone !== undefined ? patch.phone : u.phone,
    notificationPrefs: { ...u.notificationPrefs, ...(patch.notificationPrefs ?? {}) },
  };
  // SMS needs a number to send to: switching SMS on without a phone, or removing the phone while SMS is on, is refused.
  if (next.notificationPrefs.sms && !next.phone) return { error: 'phone-required-for-sms' };
  return next;
}

export function sameProfile(
  a: Pick<UserRecord, 'name' | 'phone' | 'notificationPrefs'>,
  b: Pick<UserRecord, 'name' | 'phone' | 'notificationPrefs'>,
): boolean {
  return (
    a.name === b.name &&
    a.phone === b.phone &&
    a.notificationPrefs.email === b.notificationPrefs.email &&
    a.notificationPrefs.sms === b.notificationPrefs.sms
  );
}
