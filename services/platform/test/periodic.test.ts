import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../src/logger.ts';
import { startPeriodic } from '../src/periodic.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('platform/periodic', () => {
  it('runs at start and then every interval, never two runs at once, goes on after a failure, and stop() waits for the running one', async () => {
    const lines: string[] = [];
    const logger = createLogger('t', {
      level: 'info',
      destination: new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    });
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    let finishedLast = false;
    const task = startPeriodic({
      name: 'probe',
      intervalMs: 5,
      logger,
      run: async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        finishedLast = false;
        await sleep(15); // longer than the interval: a run must not start while one is going
        active--;
        finishedLast = true;
        if (runs === 2) throw new Error('second run fails');
      },
    });
    expect(runs, 'ran at start').to.equal(1);
    while (runs < 4) await sleep(5); // bounded by mocha's timeout
    await task.stop();
    expect(finishedLast, 'stop waited for the run in progress').to.equal(true);
    const stoppedAt = runs;
    await sleep(40);
    expect(runs, 'no run after stop').to.equal(stoppedAt);
    expect(maxActive).to.equal(1);
    const records = lines.map((l) => JSON.parse(l));
    expect(records.map((r) => r.level)).to.deep.equal(['warn', 'info']); // the failure once, then its end
    expect(records[0]).to.include({ msg: 'probe failing (retrying; logged again when it recovers)' });
    expect(records[0].err.message).to.equal('second run fails');
    expect(records[1].msg).to.match(/^probe recovered after \d+\.\d s$/);
  });
});
