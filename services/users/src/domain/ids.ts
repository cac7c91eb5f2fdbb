// Ids as this service stores them (Postgres uuid): anything else can name no user, and must not reach SQL
// as a uuid cast (that is a database error, not a 404).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
