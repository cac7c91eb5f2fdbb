// Server-sent events wire format: one message per change, the sequence number as its id.
export function sseMessage(event: string, id: number | undefined, data: unknown): string {
  const lines = [`event: ${event}`];
  if (id !== undefined) lines.push(`id: ${id}`);
  for (const line of JSON.stringify(data).split('\n')) lines.push(`data: ${line}`);
  return lines.join('\n') + '\n\n';
}

export function sseComment(text: string): string {
  return `: ${text}\n\n`;
}

/** Last-Event-ID as a sequence number, or undefined when absent or not a number. */
export function parseLastEventId(value: string | undefined): number | undefined {
  if (!value || !/^[0-9]{1,18}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
