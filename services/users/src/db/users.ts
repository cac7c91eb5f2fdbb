// Queries on the users table.
import { execute, one, rows, type Role, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { NotificationPrefs, UserRecord } from '../domain/user.ts';
import { isUuid } from '../domain/ids.ts';

const COLUMNS = 'id, email, name, role, phone, notification_prefs, organizer_requested, password_hash, created_at';

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  phone: string | null;
  notification_prefs: NotificationPrefs;
  organizer_requested: boolean;
  password_hash: string;
  created_at: Date;
}

function toRecord(r: UserRow): UserRecord {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    phone: r.phone,
    notificationPrefs: r.notification_prefs,
    organizerRequested: r.organizer_requested,
    passwordHash: r.password_hash,
    createdAt: new Date(r.created_at),
  };
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  phone: string | null;
  notificationPrefs: NotificationPrefs;
  organizerRequested: boolean;
  passwordHash: string;
}

/** Inserts the user unless the e-mail is taken; returns undefined when it is (no exception, no aborted transaction). */
export async function insertUser(db: Sequelize, t: Transaction, u: NewUser): Promise<UserRecord | undefined> {
  const row = await one<UserRow>(
    db,
    `INSERT INTO users (email, name, role, phone, notification_prefs, organizer_requested, password_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (email) DO NOTHING RETURNING ${COLUMNS}`,
    [u.email, u.name, u.role, u.phone, JSON.stringify(u.notificationPrefs), u.organizerRequested, u.passwordHash],
    t,
  );
  return row ? toRecord(row) : undefined;
}

export async function findUserByEmail(db: Sequelize, email: string): Promise<UserRecord | undefined> {
  const row = await one<UserRow>(db, `SELECT ${COLUMNS} FROM users WHERE email = $1`, [email]);
  return row ? toRecord(row) : undefined;
}

/** Undefined for an unknown id, and for one that is not a uuid (e.g. a malformed x-user-id header). */
export async function findUserById(
  db: Sequelize,
  id: string,
  t?: Transaction,
  opts: { forUpdate?: boolean } = {},
): Promise<UserRecord | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await one<UserRow>(
    db,
    `SELECT ${COLUMNS} FROM users WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
    t,
  );
  return row ? toRecord(row) : undefined;
}

export async function updateProfile(
  db: Sequelize,
  t: Transaction,
  id: string,
  p: { name: string; phone: string | null; notificationPrefs: NotificationPrefs },
): Promise<UserRecord> {
  const row = await one<UserRow>(
    db,
    `UPDATE users SET name = $2, phone = $3, notification_prefs = $4, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, p.name, p.phone, JSON.stringify(p.notificationPrefs)],
    t,
  );
  return toRecord(row!);
}

/** Sets the role; an admin's decision settles a pending organizer request either way. */
export async function updateRole(db: Sequelize, t: Transaction, id: string, role: Role): Promise<UserRecord> {
  const row = await one<UserRow>(
    db,
    `UPDATE users SET role = $2, organizer_requested = false, updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, role],
    t,
  );
  return toRecord(row!);
}

export async function updatePasswordHash(db: Sequelize, id: string, passwordHash: string): Promise<void> {
  await execute(db, 'UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
}

export interface UserPageQuery {
  limit: number;
  after?: { createdAt: string; id: string };
  role?: Role;
  organizerRequested?: boolean;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listUsers(db: Sequelize, q: UserPageQuery): Promise<UserRecord[]> {
  const where: string[] = [];
  const bind: unknown[] = [];
  const param = (value: unknown) => `$${bind.push(value)}`;
  if (q.after)
    where.push(
      `(created_at, id) < (CAST(${param(q.after.createdAt)} AS timestamptz), CAST(${param(q.after.id)} AS uuid))`,
    );
  if (q.role) where.push(`role = ${param(q.role)}`);
  if (q.organizerRequested !== undefined) where.push(`organizer_requested = ${param(q.organizerRequested)}`);
  const found = await rows<UserRow>(
    db,
    `SELECT ${COLUMNS} FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(q.limit)}`,
    bind,
  );
  return found.map(toRecord);
}
