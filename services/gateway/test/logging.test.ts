import { expect } from 'chai';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLogger } from '@eventtickets/platform';
import { accessLogger, batchedStdout } from '../src/logging.ts';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import { startGateway, type RunningGateway } from './helpers.ts';

/** A pino destination that keeps every line written to it, parsed. */
function capture(): { lines: Array<Record<string, unknown>>; write: (line: string) => void } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}

describe('gateway/logging', () => {
  let catalog: FakeUpstream;
  let gw: RunningGateway | undefined;
  before(async () => {
    catalog = await startFakeUpstream('catalog');
  });
  after(async () => {
    await gw?.close();
    await catalog?.close();
  });

  it('writes one access line per proxied request (route template, status, request id) and still redacts other lines', async () => {
    const out = capture();
    const logger = createLogger('gateway', { level: 'info', destination: out });
    gw = await startGateway({ CATALOG_URL: catalog.url }, { logger });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await fetch(`${gw.url}/api/events/e42?secret=query`, {
      headers: { 'x-request-id': 'req-log-1', traceparent },
    });
    expect(res.status).to.equal(200);
    await res.arrayBuffer();
    const access = out.lines.filter((l) => l.msg === 'request');
    expect(access).to.have.length(1);
    expect(access[0]).to.include({
      service: 'gateway',
      method: 'GET',
      path: '/api/events/e42',
      route: '/api/events/{id}',
      status: 200,
      request_id: 'req-log-1',
    });
    // The line names the trace and the gateway's own hop: the parent id the service received.
    const sent = String(catalog.seen.at(-1)!.headers.traceparent).split('-');
    expect(access[0]).to.include({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: sent[2] });
    expect(sent[2]).to.not.equal('00f067aa0ba902b7');
    expect(JSON.stringify(access[0])).not.to.include('secret=query');
    // The platform's shape redaction still covers the access line: a card number in a path is masked.
    await (await fetch(`${gw.url}/api/events/4242424242424242`)).arrayBuffer();
    const carded = out.lines.filter((l) => l.msg === 'request')[1];
    expect(carded.route).to.equal('/api/events/{id}');
    expect(String(carded.path)).not.to.include('4242424242424242');

    // The access logger shares level and destination, and only it skips the redaction pass.
    logger.info({ password: 'hunter2', headers: { authorization: 'Bearer abc' } }, 'other');
    accessLogger(logger).debug('not at info level');
    const other = out.lines.find((l) => l.msg === 'other')!;
    expect(other.password).to.equal('[redacted]');
    expect((other.headers as Record<string, string>).authorization).to.equal('[redacted]');
    expect(out.lines.some((l) => l.msg === 'not at info level')).to.equal(false);
  });

  it('batches stdout lines and writes every one of them on flush', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gw-log-')), 'out.log');
    const fd = openSync(file, 'w');
    const destination = batchedStdout(fd);
    const logger = pino({ base: undefined }, destination);
    for (let i = 0; i < 10; i++) logger.info({ i }, 'line');
    expect(readFileSync(file, 'utf8'), 'below the batch size nothing is written yet').to.equal('');
    destination.flushSync();
    const written = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(written).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    destination.destroy(); // closes fd
  });
});
