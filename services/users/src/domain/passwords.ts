// Password hashing with scrypt (node:crypto). Each hash carries its own salt and cost parameters, so the
// cost can be raised later without breaking old hashes; comparison is constant-time.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when password matches the stored hash; never throws for a malformed hash (returns false). */
  verify(password: string, stored: string): Promise<boolean>;
  /** True when the stored hash uses other parameters than the current ones (rehash after a successful login). */
  needsRehash(stored: string): boolean;
  /** A hash of a random secret: unknown e-mails are verified against it so they cost the same as a wrong password. */
  readonly dummyHash: string;
}

function scrypt(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  // Node refuses when 128*N*r exceeds maxmem (32 MiB by default), which N=2^15, r=8 reaches exactly.
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Format: scrypt$ln=15,r=8,p=1$<salt base64url>$<key base64url> */
export function formatHash(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const m = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return undefined;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.logN < 1 || params.logN > 22 || params.r < 1 || params.p < 1) return undefined;
  return { params, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

export async function createPasswordHasher(params: ScryptParams = { logN: 15, r: 8, p: 1 }): Promise<PasswordHasher> {
  async function hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    return formatHash(params, salt, await scrypt(password, salt, KEY_LENGTH, params));
  }
  async function verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (!parsed || parsed.key.length === 0) return false;
    const candidate = await scrypt(password, parsed.salt, parsed.key.length, parsed.params);
    return timingSafeEqual(candidate, parsed.key);
  }
  function needsRehash(stored: string): boolean {
    const parsed = parseHash(stored);
    return (
      !parsed || parsed.params.logN !== params.logN || parsed.params.r !== params.r || parsed.params.p !== params.p
    );
  }
  const dummyHash = await hash(randomBytes(32).toString('base64url'));
  return { hash, verify, needsRehash, dummyHash };
}
