// Child output to the terminal: each line prefixed with the service name; a pino JSON entry is compacted
// to one readable line (time, level, message, then the remaining fields as key=value).
const LEVELS: Record<string, string> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};
const NUMERIC_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
/** Fields already shown by the prefix or the line layout, or pure noise locally. */
const HIDDEN = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'v']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s="]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (value && typeof value === 'object') {
    const err = value as { type?: string; message?: string; stack?: string };
    // pino's err serializer: show the message and keep the stack for the reader on the next lines
    if (typeof err.message === 'string' && typeof err.stack === 'string')
      return `${JSON.stringify(err.message)}\n${err.stack}`;
    return JSON.stringify(value);
  }
  return String(value);
}

function timeOf(value: unknown): string {
  const date = typeof value === 'number' || typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) return '';
  return date.toISOString().slice(11, 23);
}

/** One raw output line to one display line (without the prefix). Non-JSON lines pass through unchanged. */
export function formatLogLine(raw: string): string {
  const line = raw.replace(/\r$/, '');
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const levelName = typeof entry.level === 'number' ? NUMERIC_LEVELS[entry.level] : String(entry.level ?? '');
  const level = LEVELS[levelName] ?? (levelName ? levelName.toUpperCase().padEnd(5) : '');
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [timeOf(entry.time), level, typeof entry.msg === 'string' ? entry.msg : '', ...fields]
    .filter(Boolean)
    .join(' ');
}

const PALETTE = [36, 33, 35, 32, 34, 96, 93, 95, 92, 94];

/** The prefix column: names padded to the longest so the messages line up; coloured per name on a terminal. */
export function prefixer(names: string[], color = false): (name: string) => string {
  const width = Math.max(5, ...names.map((n) => n.length));
  const codes = new Map(names.map((n, i) => [n, PALETTE[i % PALETTE.length]]));
  return (name) => {
    const text = `${name.padEnd(width)} | `;
    return color ? `\x1b[${codes.get(name) ?? 37}m${text}\x1b[0m` : text;
  };
}

/** Splits a stream's chunks into complete lines (a line may arrive in several chunks). */
export function lineSplitter(onLine: (line: string) => void): { push: (chunk: string) => void; end: () => void } {
  let buffer = '';
  return {
    push(chunk) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    },
    end() {
      if (buffer) onLine(buffer);
      buffer = '';
    },
  };
}
