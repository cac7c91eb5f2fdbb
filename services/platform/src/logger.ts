// Logging: pino JSON to stdout with service name, request id and trace/span ids; secrets redacted (by path,
// and at any depth by key name and card-number shape: see redact.ts).
import { pino, type Logger, type LoggerOptions } from 'pino';
import { trace } from '@opentelemetry/api';
import { requestContext } from './context.ts';
import { maskCardNumbers, redactDeep } from './redact.ts';

export type { Logger };

/** Paths never written: passwords, tokens, card data, credentials in headers. */
export const redactedPaths = [
  'password',
  '*.password',
  '*.*.password',
  'newPassword',
  '*.newPassword',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'cardNumber',
  '*.cardNumber',
  '*.*.cardNumber',
  'card.number',
  '*.card.number',
  'cvc',
  '*.cvc',
  '*.*.cvc',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  // Header objects built in code (fetch/undici options, axios-style configs) keep their capitalisation.
  'Authorization',
  '*.Authorization',
  '*.headers.Authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
  '*.*.headers.Authorization',
  'headers.cookie',
  'req.headers.cookie',
  '*.headers["set-cookie"]',
  'secret',
  '*.secret',
];

/** `err` as people read it: an Error as type, message and stack (causes appended); a string as that string
 *  (spreading it gave {"0":"c","1":"o",...}); any other value as itself, redacted. */
export function serializeError(err: unknown): unknown {
  if (err instanceof Error) return redactDeep({ ...pino.stdSerializers.err(err) });
  if (typeof err === 'string') return maskCardNumbers(err);
  if (err === null || typeof err !== 'object') return String(err);
  return redactDeep(err);
}

export function createLogger(
  service: string,
  options: LoggerOptions & { destination?: pino.DestinationStream } = {},
): Logger {
  const { destination, ...rest } = options;
  const opts: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    // Paths above are the fast, exact rule; redactDeep also catches secrets at any depth or under other spellings.
    formatters: { level: (label) => ({ level: label }), log: (record) => redactDeep(record) },
    // formatters.log sees neither the message string nor what the error serializer makes of an Error:
    // card numbers in a message, an error message or a stack are masked here.
    hooks: {
      logMethod(args, method) {
        const masked: unknown[] = args.map((arg) => (typeof arg === 'string' ? maskCardNumbers(arg) : arg));
        // logger.error(err) alone: pino would take the raw err.message as the message.
        if (masked[0] instanceof Error && typeof masked[1] !== 'string')
          masked.splice(1, 0, maskCardNumbers(masked[0].message));
        method.apply(this, masked as Parameters<typeof method>);
      },
    },
    serializers: { err: serializeError },
    mixin() {
      const fields: Record<string, string> = {};
      const ctx = requestContext.getStore();
      if (ctx?.requestId) fields.request_id = ctx.requestId;
      const span = trace.getActiveSpan();
      if (span) {
        const sc = span.spanContext();
        fields.trace_id = sc.traceId;
        fields.span_id = sc.spanId;
      }
      return fields;
    },
    ...rest,
  };
  return destination ? pino(opts, destination) : pino(opts);
}
