// A bounded gate for CPU-heavy work (scrypt): at most `concurrency` jobs run, at most `maxQueued` wait. Without
// it every login of a rush queues in libuv's thread pool, each one finishes long after its client gave up (the
// gateway answers 504 at 10 s) and the service keeps hashing for nobody; with it, a full queue answers at once
// (the caller turns that into 503 + Retry-After) and a job whose request went away while waiting never runs.

export class WorkGateFull extends Error {
  constructor() {
    super('work gate full');
    this.name = 'WorkGateFull';
  }
}

export class WorkAbandoned extends Error {
  constructor() {
    super('the caller went away before the work started');
    this.name = 'WorkAbandoned';
  }
}

export interface WorkGate {
  /** Runs `job` when a slot is free; rejects with WorkGateFull when the queue is full, WorkAbandoned when `signal`
   *  aborts while it waits (a running job is not interrupted). */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly running: number;
  readonly queued: number;
}

interface Waiter {
  start: () => void;
  abandon: () => void;
}

export function createWorkGate(concurrency: number, maxQueued: number): WorkGate {
  let running = 0;
  const queue: Waiter[] = [];

  function next(): void {
    const waiter = queue.shift();
    if (waiter) waiter.start();
  }

  async function runNow<T>(job: () => Promise<T>): Promise<T> {
    running += 1;
    try {
      return await job();
    } finally {
      running -= 1;
      next();
    }
  }

  return {
    get running() {
      return running;
    },
    get queued() {
      return queue.length;
    },
    run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(new WorkAbandoned());
      if (running < concurrency) return runNow(job);
      if (queue.length >= maxQueued) return Promise.reject(new WorkGateFull());
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => waiter.abandon();
        const waiter: Waiter = {
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            runNow(job).then(resolve, reject);
          },
          abandon: () => {
            const at = queue.indexOf(waiter);
            if (at >= 0) queue.splice(at, 1);
            reject(new WorkAbandoned());
          },
        };
        queue.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
