// A minimal SSE reader over fetch for the end-to-end tests: yields messages as they arrive.
export interface SseMessage { id?: string; event: string; data: string }

export interface SseConnection {
  next(timeoutMs?: number): Promise<SseMessage>;
  nextMatching(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url} answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const queue: SseMessage[] = [];

  async function fill(deadline: number): Promise<void> {
    while (!queue.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE message from ${url} in time`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no SSE message from ${url} in time`)), left); }),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error(`SSE stream ${url} ended`);
      buffer += chunk.value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const msg: SseMessage = { event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'data') data.push(value);
          else if (field === 'event') msg.event = value;
          else if (field === 'id') msg.id = value;
        }
        if (data.length) {
          msg.data = data.join('\n');
          queue.push(msg);
        }
      }
    }
  }

  return {
    async next(timeoutMs = 10_000) {
      await fill(Date.now() + timeoutMs);
      return queue.shift()!;
    },
    async nextMatching(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await fill(deadline);
        const m = queue.shift()!;
        if (match(m)) return m;
      }
    },
    close() {
      controller.abort();
    },
  };
}
