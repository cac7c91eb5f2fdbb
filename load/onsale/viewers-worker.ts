// The viewers of load/onsale/viewers.ts on their own thread (openViewers starts it): reading thousands of
// sockets here never delays the hold driver's event loop, nor the times it records. Messages in: mark,
// answered, stop (times in epoch ms); out: progress (every 250 ms and with each other message), ready, stats.
import { parentPort, workerData } from 'node:worker_threads';
import { createViewerClient, type ViewersOptions } from './viewers.ts';

const port = parentPort!;
const client = createViewerClient(workerData as ViewersOptions, 'worker thread');
const progress = setInterval(() => port.postMessage({ type: 'progress', progress: client.progress() }), 250);
void client.ready.then(() => port.postMessage({ type: 'ready', progress: client.progress() }));
port.on('message', (m: { type: string; key?: number | string[]; seats?: string[]; at?: number; sentAt?: number }) => {
  if (m.type === 'mark') client.markChange(m.key!, m.at!);
  else if (m.type === 'answered') client.markAnswered(m.seats!, m.at!, m.sentAt);
  else if (m.type === 'stop')
    void client.stop().then((stats) => {
      clearInterval(progress);
      port.postMessage({ type: 'stats', stats, progress: client.progress() });
    });
});
