// A minimal SSE client for tests: parses the text/event-stream wire format from fetch's body and lets a
// test wait for the next message (or comment) that matches.
export interface SseMessage {
  event?: string;
  id?: string;
  data?: any;
  comment?: string;
}

export interface SseClient {
  status: number;
  contentType: string | null;
  /** Resolves with the first not-yet-consumed message matching `match` (messages before it are consumed). */
  next: (match?: (m: SseMessage) => boolean) => Promise<SseMessage>;
  /** Resolves once the server has ended the stream. */
  ended: Promise<void>;
  close: () => void;
}

/** One message block of the wire format (the lines between two blank lines). */
function parseBlock(block: string): SseMessage {
  const msg: SseMessage = {};
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) msg.comment = line.slice(1).trim();
    else if (line.startsWith('event: ')) msg.event = line.slice(7);
    else if (line.startsWith('id: ')) msg.id = line.slice(4);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length) msg.data = JSON.parse(data.join('\n'));
  return msg;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const queue: SseMessage[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let done = false;
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          queue.push(parseBlock(buffer.slice(0, cut)));
          buffer = buffer.slice(cut + 2);
        }
        wake();
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      wake();
    }
  })();
  async function next(match: (m: SseMessage) => boolean = (m) => !!m.event): Promise<SseMessage> {
    for (;;) {
      while (queue.length) {
        const m = queue.shift()!;
        if (match(m)) return m;
      }
      if (done) throw new Error('stream ended');
      await new Promise<void>((r) => waiters.push(r));
    }
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    next,
    ended,
    close: () => controller.abort(),
  };
}

/** Reads `count` messages (comments skipped) straight from a server-side stream, for tests below HTTP. */
export async function parseSse(stream: AsyncIterable<Buffer | string>, count: number): Promise<SseMessage[]> {
  const found: SseMessage[] = [];
  let buffer = '';
  for await (const chunk of stream) {
    buffer += chunk.toString();
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const msg = parseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (msg.event) found.push(msg);
      if (found.length === count) return found;
    }
  }
  throw new Error(`stream ended after ${found.length} of ${count} messages`);
}
