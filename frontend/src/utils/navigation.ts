/** A `next` query value → a same-app path to go to after signing in (never another origin). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
