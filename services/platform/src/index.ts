// @eventtickets/platform: the cross-cutting code every service shares. Its package exports are this entry,
// "./testing" (the test kit, never imported by production code or npm start) and "./tracing-register"
// (loaded with node --import), and each module below as a subpath of its own (@eventtickets/platform/http,
// /errors, /redis, /db, ...: package.json "exports"). This entry loads all of them, Sequelize, the event bus and
// Redlock included; a process that needs only a part imports the subpaths (the gateway, which has no database:
// issue 19, ~300 fewer modules and ~10 MiB less). Types can still come from here (`import type` is erased).
export * from './config.ts';
export * from './context.ts';
export * from './logger.ts';
export * from './errors.ts';
export * from './metrics.ts';
export * from './health.ts';
export * from './contracts.ts';
export * from './auth.ts';
export * from './internal-token.ts';
export * from './http.ts';
export * from './db.ts';
export * from './sql.ts';
export * from './redis.ts';
export * from './outage.ts';
export * from './outbox.ts';
export * from './events/catalogue.ts';
export * from './eventbus/index.ts';
export * from './service-base.ts';
export * from './locks.ts';
export * from './pubsub.ts';
export * from './cache.ts';
export * from './conditional.ts';
export * from './tracing.ts';
export * from './client.ts';
export * from './idempotency.ts';
export * from './periodic.ts';
