// @eventtickets/platform/testing: the one test kit (never imported by production code or by npm start).
export * from './harness.ts';
export * from './wait.ts';
export * from './contract-client.ts';
export * from './sse-client.ts';
export * from './fake-upstream.ts';
export * from './events.ts';
export * from './processes.ts';
export * from './gateway-api.ts';
export * from './browser.ts';
export * from './in-process.ts';
export * from './sql.ts';
