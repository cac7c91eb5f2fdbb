// Server-sent events wire format. Changes travel in batches: `event: changes`, data = a JSON array of
// consecutive AvailabilityChange documents in sequence order, id = the last one's sequence number
// (openapi.yaml, streamAvailability, states the gap and resume rules).

/** A message whose data is JSON text already (one `data:` line per line of it). */
export function sseMessageOfJson(event: string, id: number | undefined, json: string): string {
  const lines = [`event: ${event}`];
  if (id !== undefined) lines.push(`id: ${id}`);
  for (const line of json.split('\n')) lines.push(`data: ${line}`);
  return lines.join('\n') + '\n\n';
}

/** Changes per `changes` message at most (a long replay becomes several messages). */
export const MAX_CHANGES_PER_MESSAGE = 500;

/** One `changes` message per MAX_CHANGES_PER_MESSAGE consecutive changes (empty input: ''). */
export function sseChanges(changes: readonly { seq: number }[]): string {
  let out = '';
  for (let i = 0; i < changes.length; i += MAX_CHANGES_PER_MESSAGE) {
    const part = changes.slice(i, i + MAX_CHANGES_PER_MESSAGE);
    out += `event: changes\nid: ${part[part.length - 1]!.seq}\ndata: ${JSON.stringify(part)}\n\n`;
  }
  return out;
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
