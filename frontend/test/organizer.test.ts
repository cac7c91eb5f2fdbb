// The organizer's side in a real browser (Debian's Chromium through playwright-core) against the real
// `npm start` stack: create a venue with the rows × seats generator (its live preview counts the seats), an
// event there with two tiers, publish it and find it in the public search; a ticket bought through the API
// is admitted once at check-in, then shown as already used, and a forged code as invalid; the sales page
// counts the sale and the check-in; cancelling asks for confirmation first. Screenshots of every organizer
// page at 390x844 and 1440x900 land in test-results/screenshots/ (organizer-*.png).
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { launchTestBrowser, requireBinary, waitFor, type TestBrowser } from '@eventtickets/platform/testing';
import { DEMO_PASSWORD, DESKTOP, PHONE, apiClient, ensureBuilt, shoot, startStack, type Stack } from './helpers.ts';

/** Screenshots at phone and desktop size (from the top of the page), after checking that neither size
 *  scrolls sideways: a page wider than the screen is a broken layout. */
async function snap(page: Page, name: string) {
  const before = page.viewportSize();
  for (const viewport of [PHONE, DESKTOP]) {
    await page.setViewportSize(viewport);
    const overflow = await waitFor(
      `${name} fits ${viewport.width}px`,
      () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      { timeoutMs: 5_000 },
    ).catch(() => false);
    expect(overflow, `${name} is wider than ${viewport.width}px`).to.equal(true);
  }
  if (before) await page.setViewportSize(before);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shoot(page, name);
}

async function signInAsOrganizer(page: Page, gw: string, email = 'organizer@example.com') {
  await page.goto(`${gw}/sign-in?next=%2Forganizer`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gw}/organizer`);
}

/** Fills a Quasar input found by its data-test attribute. */
async function fill(page: Page, test: string, value: string, nth = 0) {
  await page
    .locator(`:is(input, textarea)[data-test=${test}], [data-test=${test}] :is(input, textarea)`)
    .nth(nth)
    .fill(value);
}

async function unlabelledInputs(page: Page): Promise<number> {
  return page.$$eval(
    'input:not([type=hidden])',
    (inputs) => inputs.filter((i) => !(i as HTMLInputElement).labels?.length && !i.getAttribute('aria-label')).length,
  );
}

/** A wall-clock time `days` from now for a datetime-local input. */
function localInput(days: number, hhmm: string): string {
  return `${new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)}T${hhmm}`;
}

describe('frontend: the organizer in a real browser against npm start', function () {
  this.timeout(300_000);
  let stack: Stack;
  let browser: TestBrowser;

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    requireBinary(this, 'chromium', 'apt-get install -y chromium');
    ensureBuilt();
    stack = await startStack();
    browser = await launchTestBrowser(this, { viewport: DESKTOP });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('creates a venue and an event, publishes it (it appears in search), admits a ticket once at check-in, then says already used', async () => {
    const { gw } = stack;
    const api = apiClient(gw);
    const stamp = Date.now().toString(36);
    const venueName = `Riverside Hall ${stamp}`;
    const title = `Riverside Sessions ${stamp}`;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await signInAsOrganizer(page, gw);
    expect(await page.title()).to.equal('My events · EventTickets');
    await page.waitForSelector('[data-test=event-row]'); // the demo events
    await snap(page, 'organizer-events');

    // a venue: 4 rows × 8 seats and a standing area, drawn live as the numbers change
    await page.click('text=Venues');
    await page.waitForURL(`${gw}/organizer/venues`);
    await page.waitForSelector('[data-test=venue-card]');
    await snap(page, 'organizer-venues');
    await page.click('[data-test=new-venue]');
    await page.waitForURL(`${gw}/organizer/venues/new`);
    expect(await page.title()).to.equal('New venue · EventTickets');
    await fill(page, 'venue-name', venueName);
    await fill(page, 'venue-city', 'Galway');
    const svg = page.locator('[data-test=seatmap-preview] svg');
    expect(await svg.getAttribute('aria-label')).to.match(/200 seats/); // the default section: 10 × 20
    await fill(page, 'section-rows', '4');
    await fill(page, 'section-seats', '8');
    await page.click('[data-test=add-area]');
    await fill(page, 'area-capacity', '50');
    await waitFor('the preview follows the form', async () =>
      /32 seats.*Standing \(50 standing\)/.test((await svg.getAttribute('aria-label')) ?? ''),
    );
    expect(await page.locator('[data-test=seatmap-preview] figcaption').textContent()).to.contain(
      '32 seats · 50 standing',
    );
    expect(await unlabelledInputs(page)).to.equal(0);
    await snap(page, 'organizer-venue-new');
    await page.click('[data-test=save-venue]');
    await page.waitForURL(/\/organizer\/venues\/[0-9a-f-]{36}$/);
    await page.waitForSelector('[data-test=event-here]');
    expect(await page.locator('input[data-test=section-rows]').inputValue()).to.equal('4'); // read back as a grid
    await snap(page, 'organizer-venue-edit');

    // an event there with a tier per section and area, saved as a draft, then published
    await page.click('[data-test=event-here]');
    await page.waitForURL(/\/organizer\/events\/new\?venue=/);
    await page.waitForSelector('[data-test=seatmap-preview] svg');
    await fill(page, 'event-title', title);
    await fill(page, 'event-starts', localInput(30, '20:00'));
    await fill(page, 'event-ends', localInput(30, '22:30'));
    await page.click('[data-test=add-tier]');
    await fill(page, 'tier-price', '30');
    expect(await page.isVisible('[data-test=unpriced]')).to.equal(true); // the standing area has no price yet
    await page.click('[data-test=add-tier]');
    await fill(page, 'tier-price', '15.50', 1);
    await page.waitForSelector('[data-test=unpriced]', { state: 'detached' });
    expect(await unlabelledInputs(page)).to.equal(0);
    await snap(page, 'organizer-event-new');
    await page.click('[data-test=save-event]');
    await page.waitForURL(/\/organizer\/events\/[0-9a-f-]{36}$/);
    const eventId = page.url().split('/').at(-1)!;
    await page.waitForSelector('[data-test=publish]');
    expect(await page.textContent('[data-test=event-status]')).to.contain('Draft');
    await page.click('[data-test=publish]');
    await waitFor('published', async () =>
      /Published/.test((await page.textContent('[data-test=event-status]')) ?? ''),
    );
    expect(await page.isVisible('[data-test=locked-note]')).to.equal(true);
    await snap(page, 'organizer-event-published');

    // it appears in the public search
    await page.goto(`${gw}/?q=${encodeURIComponent(`Riverside Sessions ${stamp}`)}`);
    await page.waitForSelector(`[data-test=event-${eventId}]`, { timeout: 30_000 });
    expect(await page.locator('a.event-link').count()).to.equal(1);

    // a buyer buys one seat through the API
    const login = await api('POST', '/api/auth/login', {
      body: { email: 'buyer@example.com', password: DEMO_PASSWORD },
    });
    const buyer = login.body.accessToken as string;
    const seats = await waitFor(
      'inventory has the event',
      async () => {
        const res = await api('GET', `/api/events/${eventId}/availability`);
        return res.status === 200 && Object.keys(res.body.seats).length
          ? (res.body.seats as Record<string, string>)
          : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const hold = await api('POST', '/api/holds', {
      token: buyer,
      body: { eventId, seats: Object.keys(seats).slice(0, 2) },
    });
    expect(hold.status, JSON.stringify(hold.body)).to.equal(201);
    const card = { number: '4242 4242 4242 4242', expMonth: 12, expYear: new Date().getFullYear() + 2, cvc: '123' };
    const method = await api('POST', '/api/payments/methods', { token: buyer, body: { card } });
    expect(method.status, JSON.stringify(method.body)).to.equal(201);
    const order = await api('POST', '/api/orders', { token: buyer, body: { holdId: hold.body.id } });
    expect(order.status, JSON.stringify(order.body)).to.equal(201);
    const paid = await api('POST', `/api/orders/${order.body.id}/pay`, {
      token: buyer,
      body: { paymentMethodId: method.body.id },
    });
    expect(paid.body.status, JSON.stringify(paid.body)).to.equal('confirmed');
    const tickets = await api('GET', '/api/tickets', { token: buyer });
    const [ticket, second] = tickets.body.items.filter((t: { orderId: string }) => t.orderId === order.body.id);
    expect(second, JSON.stringify(tickets.body)).to.exist;

    // check-in: admitted once, then already used; a forged code is invalid
    await page.goto(`${gw}/organizer/events/${eventId}/check-in`);
    expect(await page.title()).to.equal('Check-in · EventTickets');
    await page.waitForSelector('[data-test=verdict][data-verdict=idle]');
    const detector = await page.evaluate(() => 'BarcodeDetector' in window);
    expect(await page.isVisible(detector ? '[data-test=camera]' : '[data-test=no-camera]')).to.equal(true);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-test'))).to.equal('code'); // ready for a handheld scanner
    expect(await unlabelledInputs(page)).to.equal(0);
    await snap(page, 'organizer-check-in');
    const scan = async (code: string, verdict: string) => {
      await fill(page, 'code', code);
      await page.click('[data-test=check]');
      await page.waitForSelector(`[data-test=verdict][data-verdict=${verdict}]`);
    };
    await scan(ticket.code, 'admitted');
    expect(await page.textContent('[data-test=verdict-title]')).to.equal('Admitted');
    expect(await page.textContent('[data-test=verdict-detail]')).to.contain(ticket.label);
    await snap(page, 'organizer-check-in-admitted');
    await scan(ticket.code, 'used');
    expect(await page.textContent('[data-test=verdict-title]')).to.equal('Already used');
    expect(await page.textContent('[data-test=verdict-detail]')).to.match(/already scanned at/);
    await snap(page, 'organizer-check-in-used');
    await scan(`${ticket.code.slice(0, -4)}AAAA`, 'invalid');
    expect(await page.textContent('[data-test=verdict-title]')).to.equal('Invalid ticket');
    await snap(page, 'organizer-check-in-invalid');
    expect(await page.locator('[data-test=history] .q-item').count()).to.equal(3);

    // the camera path, where the browser has BarcodeDetector (headless Chromium on Linux has none): a stand-in
    // detector reads whatever code the test shows it, from a canvas stream standing in for the camera
    const door = await browser.newPage();
    await door.addInitScript(() => {
      const w = window as unknown as { __shown?: string; BarcodeDetector?: unknown };
      w.BarcodeDetector = class {
        static async getSupportedFormats() {
          return ['qr_code'];
        }
        async detect() {
          return w.__shown ? [{ rawValue: w.__shown }] : [];
        }
      };
      navigator.mediaDevices.getUserMedia = async () => {
        const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
        const ctx = canvas.getContext('2d')!;
        setInterval(() => ctx.fillRect(0, 0, 320, 240), 100);
        return canvas.captureStream(10);
      };
    });
    await door.goto(`${gw}/organizer/events/${eventId}/check-in`);
    await door.click('[data-test=camera]');
    await door.waitForSelector('video.camera');
    await door.evaluate((code) => ((window as unknown as { __shown?: string }).__shown = code), second.code);
    await door.waitForSelector('[data-test=verdict][data-verdict=admitted]', { timeout: 20_000 });
    expect(await door.textContent('[data-test=verdict-detail]')).to.contain(second.label);
    await door.evaluate(() => ((window as unknown as { __shown?: string }).__shown = undefined));
    await door.click('[data-test=camera]'); // stop
    await door.close();

    // sales: the sale and the check-in
    await page.goto(`${gw}/organizer/events/${eventId}/sales`);
    await page.waitForSelector('[data-test=figure-sold]');
    expect(await page.textContent('[data-test=figure-sold]')).to.match(/Tickets sold\s*2\s*of 82/);
    expect(await page.textContent('[data-test=figure-checkins]')).to.match(/Checked in\s*2/);
    expect(await page.locator('[data-test=tier-row]').count()).to.equal(2);
    await snap(page, 'organizer-sales');

    // cancel: a confirmation first; "Keep it" changes nothing, confirming cancels
    await page.goto(`${gw}/organizer/events/${eventId}`);
    await page.click('[data-test=cancel-event]');
    await page.waitForSelector('.q-dialog');
    await snap(page, 'organizer-event-cancel-confirm');
    await page.getByRole('button', { name: 'Keep it' }).click();
    await page.waitForSelector('.q-dialog', { state: 'detached' });
    expect(await page.textContent('[data-test=event-status]')).to.contain('Published');
    await page.click('[data-test=cancel-event]');
    await page.getByRole('button', { name: 'Cancel the event' }).click();
    await waitFor('cancelled', async () =>
      /Cancelled/.test((await page.textContent('[data-test=event-status]')) ?? ''),
    );
    const after = await api('GET', `/api/events/${eventId}`);
    expect(after.body.status).to.equal('cancelled');
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  it('keeps organizer pages to organizers and shows API errors as sentences', async () => {
    const { gw } = stack;
    const page = await browser.newPage();
    // a buyer is sent home
    await page.goto(`${gw}/sign-in?next=%2Forganizer`);
    await page.getByLabel('E-mail').fill('buyer@example.com');
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/\?denied=organizer$/);
    await page.evaluate(() => localStorage.clear());

    // an admin has organizer pages too, and no events of their own (catalog shows admins every venue): the empty state
    await signInAsOrganizer(page, gw, 'admin@example.com');
    await page.waitForSelector('[data-test=empty]');
    expect(await page.textContent('[data-test=empty]')).to.contain('You have no events yet.');
    await snap(page, 'organizer-events-empty');
    await page.evaluate(() => localStorage.clear());

    await signInAsOrganizer(page, gw);
    // a seat map beyond catalog's drawing area is caught in the form, before anything is sent
    await page.goto(`${gw}/organizer/venues/new`);
    await fill(page, 'venue-name', `Too Wide ${Date.now().toString(36)}`);
    await fill(page, 'venue-city', 'Galway');
    await fill(page, 'section-seats', '480'); // 480 seats 24 apart: wider than the 10 000-unit canvas
    const warning = await page.waitForSelector('[data-test=draft-problems]');
    expect(await warning.textContent()).to.match(/larger than the 10,000-unit drawing area/);
    expect(await page.isDisabled('[data-test=save-venue]')).to.equal(true);
    await snap(page, 'organizer-venue-problems');

    // an event the service will not publish (no price tier yet) says why, in words
    await page.goto(`${gw}/organizer/events/new`);
    await page.waitForSelector('[data-test=seatmap-preview] svg');
    await fill(page, 'event-title', `No Prices Yet ${Date.now().toString(36)}`);
    await fill(page, 'event-starts', localInput(40, '19:00'));
    await fill(page, 'event-ends', localInput(40, '21:00'));
    await page.click('[data-test=save-event]');
    await page.waitForURL(/\/organizer\/events\/[0-9a-f-]{36}$/);
    await page.click('[data-test=publish]');
    const refused = await page.waitForSelector('[data-test=save-error]');
    expect(await refused.textContent()).to.equal(
      'The event has problems: An event needs at least one price tier to be published.',
    );
    expect(await page.textContent('[data-test=event-status]')).to.contain('Draft');
    await snap(page, 'organizer-event-error');
    // the demo venue has published events: its details may change, its seat map may not (catalog says 409)
    await page.goto(`${gw}/organizer/venues`);
    await page.click('[data-test=venue-card] a:has-text("Harbour Hall")');
    await page.waitForURL(/\/organizer\/venues\/[0-9a-f-]{36}$/);
    await page.waitForSelector('[data-test=seatmap-preview] svg');
    expect(await page.locator('input[data-test=section-rows]').first().inputValue()).to.equal('10'); // Stalls, a grid
    await fill(page, 'venue-address', 'North Wall Quay, Dublin 1');
    await page.click('[data-test=save-venue]');
    await page.waitForSelector('.q-notification:has-text("Venue saved.")');
    await fill(page, 'section-rows', '9'); // (11 rows would reach row K, which Circle uses: the form says so)
    await page.click('[data-test=save-venue]');
    const lockedMap = await page.waitForSelector('[data-test=save-error]');
    expect(await lockedMap.textContent()).to.match(
      /published events that have not ended yet, so its seat map cannot change/,
    );
    await page.reload();
    await page.waitForSelector('[data-test=seatmap-preview] svg');
    expect(await page.locator('input[data-test=venue-address]').inputValue()).to.equal('North Wall Quay, Dublin 1');
    expect(await page.locator('input[data-test=section-rows]').first().inputValue()).to.equal('10');

    // an unknown event: a message, not a blank page
    await page.goto(`${gw}/organizer/events/00000000-0000-4000-8000-000000000000/sales`);
    const missing = await page.waitForSelector('[role=alert]');
    expect(await missing.textContent()).to.match(/could not find/i);
  });
});
