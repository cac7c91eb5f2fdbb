// Server-sent events, the little the gateway needs of them (pure): an incremental parser for an upstream's
// text/event-stream, and the wire form of a message. The gateway re-sends an upstream snapshot byte for byte
// (its `raw` form); changes it re-batches (stream-hub.ts), each change document as the service wrote it.

export interface SseMessage {
  event?: string;
  id?: string;
  /** The data lines joined by "\n" ('' when there were none). */
  data: string;
  /** The message as it came, normalised to "\n" line ends, with its terminating blank line. */
  raw: string;
  /** True when the block had only comments (heartbeats) or a retry field. */
  commentOnly: boolean;
}

/** Feeds text chunks in, gets complete messages out (a block ends at a blank line). */
export class SseParser {
  private buffer = '';

  push(text: string): SseMessage[] {
    this.buffer += text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const out: SseMessage[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      if (block.length) out.push(parseBlock(block));
    }
    return out;
  }
}

function parseBlock(block: string): SseMessage {
  const msg: SseMessage = { data: '', raw: block + '\n\n', commentOnly: true };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') msg.event = value;
    else if (field === 'id') msg.id = value;
    else if (field === 'data') data.push(value);
    else continue;
    msg.commentOnly = false;
  }
  msg.data = data.join('\n');
  return msg;
}

export function sseMessage(event: string, id: number, data: unknown): string {
  return `event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Last-Event-ID as a sequence number, or undefined when absent or not one (the service's rule). */
export function parseLastEventId(value: string | undefined): number | undefined {
  if (!value || !/^[0-9]{1,18}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
