// Queries on the users table.
import { QueryTypes, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { Role } from '@eventtickets/platform';
import type { NotificationPrefs, UserRecord } from '../domain/user.ts';
import { isUuid } from '../domain/ids.ts';

const COLUMNS = 'id, email, name, role, phone, notification_prefs, organizer_requested, password_hash, created_at';

interface UserRow {
  id: string; email: string; name: string; role: Role; phone: string | null;
  notification_prefs: NotificationPrefs; organizer_requested: boolean; password_hash: string; created_at: Date;
}

function toRecord(r: UserRow): UserRecord {
  return { id: r.id, email: r.email, name: r.name, role: r.role, phone: r.phone, notificationPrefs: r.notification_prefs, organizerRequested: r.organizer_requested, passwordHash: r.password_hash, createdAt: new Date(r.created_at) };
}

export interface NewUser { email: string; name: string; role: Role; phone: string | null; notificationPrefs: NotificationPrefs; organizerRequested: boolean; passwordHash: string }

/** Inserts the user unless the e-mail is taken; returns undefined when it is (no exception, no aborted transaction). */
export async function insertUser(db: Sequelize, t: Transaction, u: NewUser): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>(
    `INSERT INTO users (email, name, role, phone, notification_prefs, organizer_requested, password_hash)
     VALUES (:email, :name, :role, :phone, :prefs, :organizerRequested, :passwordHash)
     ON CONFLICT (email) DO NOTHING RETURNING ${COLUMNS}`,
    { transaction: t, type: QueryTypes.SELECT, replacements: { ...u, prefs: JSON.stringify(u.notificationPrefs) } },
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export async function findUserByEmail(db: Sequelize, email: string): Promise<UserRecord | undefined> {
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE email = :email`, { type: QueryTypes.SELECT, replacements: { email } });
  return rows[0] ? toRecord(rows[0]) : undefined;
}

/** Undefined for an unknown id, and for one that is not a uuid (e.g. a malformed x-user-id header). */
export async function findUserById(db: Sequelize, id: string, t?: Transaction, opts: { forUpdate?: boolean } = {}): Promise<UserRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const rows = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = :id${opts.forUpdate ? ' FOR UPDATE' : ''}`, { transaction: t, type: QueryTypes.SELECT, replacements: { id } });
  return rows[0] ? toRecord(rows[0]) : undefined;
}

export async function updateProfile(db: Sequelize, t: Transaction, id: string, p: { name: string; phone: string | null; notificationPrefs: NotificationPrefs }): Promise<UserRecord> {
  const rows = await db.query<UserRow>(
    `UPDATE users SET name = :name, phone = :phone, notification_prefs = :prefs, updated_at = now() WHERE id = :id RETURNING ${COLUMNS}`,
    { transaction: t, type: QueryTypes.SELECT, replacements: { id, name: p.name, phone: p.phone, prefs: JSON.stringify(p.notificationPrefs) } },
  );
  return toRecord(rows[0]!);
}

/** Sets the role; an admin's decision settles a pending organizer request either way. */
export async function updateRole(db: Sequelize, t: Transaction, id: string, role: Role): Promise<UserRecord> {
  const rows = await db.query<UserRow>(
    `UPDATE users SET role = :role, organizer_requested = false, updated_at = now()
     WHERE id = :id RETURNING ${COLUMNS}`,
    { transaction: t, type: QueryTypes.SELECT, replacements: { id, role } },
  );
  return toRecord(rows[0]!);
}

export async function updatePasswordHash(db: Sequelize, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = :passwordHash WHERE id = :id', { replacements: { id, passwordHash } });
}

export interface UserPageQuery { limit: number; after?: { createdAt: string; id: string }; role?: Role; organizerRequested?: boolean }

/** Newest first, keyset-paginated on (created_at, id). */
export async function listUsers(db: Sequelize, q: UserPageQuery): Promise<UserRecord[]> {
  const where: string[] = [];
  const replacements: Record<string, unknown> = { limit: q.limit };
  if (q.after) {
    where.push('(created_at, id) < (CAST(:afterCreatedAt AS timestamptz), CAST(:afterId AS uuid))');
    replacements.afterCreatedAt = q.after.createdAt;
    replacements.afterId = q.after.id;
  }
  if (q.role) {
    where.push('role = :role');
    replacements.role = q.role;
  }
  if (q.organizerRequested !== undefined) {
    where.push('organizer_requested = :organizerRequested');
    replacements.organizerRequested = q.organizerRequested;
  }
  const rows = await db.query<UserRow>(
    `SELECT ${COLUMNS} FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT :limit`,
    { type: QueryTypes.SELECT, replacements },
  );
  return rows.map(toRecord);
}
