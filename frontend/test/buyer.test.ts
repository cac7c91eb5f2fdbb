// The buyer's path in a real browser (Debian's Chromium through playwright-core) against the real `npm start`
// stack: sign up, search, pick two seats on the live map, hold them, a declined card (message shown, hold
// kept), the success card, the ticket's QR (also offline); a second browser sees the seats turn unavailable
// without a reload; a hold left to expire says so and its seat comes back. Screenshots of every buyer page at
// 390x844 and 1440x900 land in test-results/screenshots/.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { launchTestBrowser, requireBinary, waitFor, type TestBrowser } from '@eventtickets/platform/testing';
import { DEMO_PASSWORD, DESKTOP, PHONE, apiClient, ensureBuilt, shoot, startStack, type Stack } from './helpers.ts';

const EVENT = 'Harbour Lights Orchestra';

/** A Quasar input by its data-test (Quasar passes the attribute to the native input). */
const field = (name: string) => `input[data-test=${name}], [data-test=${name}] input`;

async function availableSeats(page: Page, n: number): Promise<string[]> {
  await page.waitForSelector('g.seat[data-status="available"]');
  return page.$$eval(
    'g.seat[data-status="available"]',
    (els, count) => els.slice(0, count).map((e) => e.getAttribute('data-seat')!),
    n,
  );
}

async function seatStatus(page: Page, seatId: string): Promise<string | null> {
  return page.getAttribute(`g.seat[data-seat="${seatId}"]`, 'data-status');
}

async function signIn(page: Page, gw: string, email: string, password: string) {
  await page.goto(`${gw}/sign-in`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${gw}/`);
}

async function payWith(page: Page, number: string) {
  await page.fill(field('card-number'), number);
  await page.fill(field('card-expiry'), '12/39');
  await page.fill(field('card-cvc'), '123');
  await page.click('[data-test=pay]');
}

describe('frontend: the buyer in a real browser against npm start', function () {
  this.timeout(300_000);
  let stack: Stack;
  let buyer: TestBrowser;
  let viewer: TestBrowser;

  before(async function () {
    requireBinary(this, 'redis-server', 'apt-get install -y redis-server');
    requireBinary(this, 'chromium', 'apt-get install -y chromium');
    ensureBuilt();
    stack = await startStack();
    buyer = await launchTestBrowser(this, { viewport: PHONE });
    viewer = await launchTestBrowser(this, { viewport: DESKTOP });
  });

  after(async () => {
    await buyer?.close();
    await viewer?.close();
    await stack?.stop();
  });

  it('signs up, finds the event, holds two seats, survives a declined card, pays and shows the QR; another browser sees the seats go', async () => {
    const { gw } = stack;
    const page = await buyer.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // the access token lives in memory only: every full page load after signing up is signed in again silently
    let refreshes = 0;
    page.on('response', (r) => {
      if (r.url().endsWith('/api/auth/refresh') && r.status() === 200) refreshes += 1;
    });

    await page.goto(`${gw}/sign-up`);
    await page.waitForSelector('h1');
    expect(await page.title()).to.equal('Create an account · EventTickets');
    expect(await page.getAttribute('html', 'lang')).to.match(/^en/); // Quasar's language pack sets en-US
    await shoot(page, 'sign-up');
    await page.getByLabel('Your name').fill('Browser Buyer');
    await page.getByLabel('E-mail').fill(`browser-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('a-long-password-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${gw}/`);

    await page.fill(field('search'), 'Orchestra');
    await page.waitForURL(/q=Orchestra/);
    const card = page.locator('a.event-link', { hasText: EVENT });
    await card.waitFor();
    // the search narrowed the list (the comedy night does not mention an orchestra)
    await page.waitForFunction(
      () => ![...document.querySelectorAll('a.event-link')].some((a) => /Stand-up/.test(a.textContent ?? '')),
    );
    await shoot(page, 'home-search');
    await card.click();
    await page.waitForSelector('[data-test=event-title]');
    const eventUrl = page.url();

    // the second browser watches the same map
    const watcher = await viewer.newPage();
    await watcher.goto(eventUrl);
    const seats = await availableSeats(page, 2);
    await watcher.waitForSelector(`g.seat[data-seat="${seats[0]}"][data-status="available"]`);

    // the first seat by pointer, the next one by keyboard (arrow to it, Enter)
    await page.click(`g.seat[data-seat="${seats[0]}"]`);
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.seat)).to.equal(seats[1]);
    await page.keyboard.press('Enter');
    expect(await page.locator('[data-test=selection] li').count()).to.equal(2);
    expect(await page.getAttribute(`g.seat[data-seat="${seats[0]}"]`, 'aria-checked')).to.equal('true');
    await shoot(page, 'event-selected');
    await page.click('[data-test=reserve]');
    await page.waitForURL(/\/checkout\//);
    await page.waitForSelector('[data-test=countdown]');
    await page.waitForSelector('[data-test=test-cards]');

    // without a reload, the other browser's map shows both seats taken
    for (const id of seats)
      await watcher.waitForSelector(`g.seat[data-seat="${id}"][data-status="held"]`, { timeout: 20_000 });
    expect(await watcher.getAttribute(`g.seat[data-seat="${seats[1]}"]`, 'aria-label')).to.match(/: taken$/);
    await shoot(watcher, 'event-live');
    await shoot(page, 'checkout');

    // a declined card: the message, and the hold (and its countdown) stay
    await payWith(page, '4000 0000 0000 0002');
    const declined = await page.waitForSelector('[data-test=pay-error]');
    expect(await declined.textContent()).to.match(/declined.*seats are still reserved/i);
    expect(page.url()).to.match(/\/checkout\//);
    expect(await page.isVisible('[data-test=countdown]')).to.equal(true);
    expect(await seatStatus(watcher, seats[0])).to.equal('held');
    await shoot(page, 'checkout-declined');

    // the success card
    await payWith(page, '4242 4242 4242 4242');
    await page.waitForURL(/\/orders\/[^/]+\/confirmation$/, { timeout: 30_000 });
    await page.waitForSelector('img[data-test=qr]');
    expect(await page.locator('img[data-test=qr]').count()).to.equal(2);
    expect(await page.getAttribute('img[data-test=qr]', 'src')).to.match(/^data:image\/svg\+xml/);
    await shoot(page, 'confirmation');
    for (const id of seats)
      await watcher.waitForSelector(`g.seat[data-seat="${id}"][data-status="sold"]`, { timeout: 20_000 });

    // my tickets, then offline: the saved tickets and their QR codes still show
    const refreshesBefore = refreshes;
    await page.goto(`${gw}/tickets`);
    await page.waitForSelector('img[data-test=qr]');
    // the saved tickets show from the cache at once; the refresh answers meanwhile
    await waitFor('a silent token refresh on the new page load', () => refreshes > refreshesBefore || undefined, {
      timeoutMs: 30_000,
    });
    expect(new URL(page.url()).pathname).to.equal('/tickets');
    expect(await page.locator('img[data-test=qr]').count()).to.equal(2);
    await shoot(page, 'tickets');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await buyer.context.setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('[data-test=offline]');
      expect(await page.locator('img[data-test=qr]').count()).to.equal(2);
      await shoot(page, 'tickets-offline');
    } finally {
      await buyer.context.setOffline(false);
    }

    // orders: the list, the order with its receipt
    await page.goto(`${gw}/orders`);
    await page.waitForSelector('[data-test^=order-]');
    await shoot(page, 'orders');
    await page.click('[data-test^=order-]');
    await page.waitForSelector('[data-test=receipt]');
    expect(await page.textContent('[data-test=order-status]')).to.equal('Confirmed');
    await shoot(page, 'order');

    // cancel and refund the paid order, behind its confirmation dialog
    await page.click('[data-test=cancel-order]');
    await page.getByRole('button', { name: 'Cancel and refund' }).last().click();
    await page.waitForFunction(
      () => document.querySelector('[data-test=order-status]')?.textContent?.trim() === 'Refunded',
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.textContent('body')).to.match(/Refunded €/);
    await shoot(page, 'order-refunded');

    await page.goto(`${gw}/profile`);
    await page.waitForSelector('[data-test=sms-opt-in]');
    await shoot(page, 'profile');
    expect(errors, errors.join('\n')).to.deep.equal([]);
  });

  it('says when a hold expires, and its seat comes back on the map', async () => {
    const { gw } = stack;
    const api = apiClient(gw);
    // an event whose holds last one minute, the shortest reservation window catalog accepts
    const login = await api('POST', '/api/auth/login', {
      body: { email: 'organizer@example.com', password: DEMO_PASSWORD },
    });
    expect(login.status).to.equal(200);
    const token = login.body.accessToken as string;
    const venue = await api('POST', '/api/venues', {
      token,
      body: {
        name: 'Expiry Hall',
        city: 'Dublin',
        timeZone: 'Europe/Dublin',
        seatMap: {
          sections: [{ name: 'Stalls', origin: { x: 0, y: 0 }, rows: 2, seatsPerRow: 6, spacing: 30 }],
        },
      },
    });
    expect(venue.status, JSON.stringify(venue.body)).to.equal(201);
    const start = new Date(Date.now() + 7 * 86_400_000);
    const created = await api('POST', '/api/events', {
      token,
      body: {
        venueId: venue.body.id,
        title: 'Expiring Holds Matinee',
        category: 'theatre',
        startsAt: start.toISOString().replace(/\.\d+Z$/, 'Z'),
        endsAt: new Date(start.getTime() + 7_200_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        reservationMinutes: 1,
        tiers: [{ name: 'Stalls', amount: 2500, currency: 'EUR', sections: ['Stalls'] }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const eventId = created.body.id as string;
    const published = await api('POST', `/api/events/${eventId}/publish`, { token });
    expect(published.status, JSON.stringify(published.body)).to.equal(200);
    await waitFor(
      'inventory has the event',
      async () => (await api('GET', `/api/events/${eventId}/availability`)).status === 200,
      {
        timeoutMs: 30_000,
      },
    );

    const page = await buyer.newPage();
    await signIn(page, gw, 'buyer@example.com', DEMO_PASSWORD);
    await page.goto(`${gw}/events/${eventId}`);
    const [seat] = await availableSeats(page, 1);
    await page.click(`g.seat[data-seat="${seat}"]`);
    await page.click('[data-test=reserve]');
    await page.waitForURL(/\/checkout\//);
    await page.waitForSelector('[data-test=countdown]');

    const watcher = await viewer.newPage();
    await watcher.goto(`${gw}/events/${eventId}`);
    await watcher.waitForSelector(`g.seat[data-seat="${seat}"][data-status="held"]`);

    // the countdown runs out (a one-minute window; a generous bound on the wait, not a timing assertion)
    const expired = await page.waitForSelector('[data-test=expired]', { timeout: 120_000 });
    expect(await expired.textContent()).to.match(/expired.*released/i);
    await shoot(page, 'checkout-expired');
    // and the seat is free again on the other browser's live map, without a reload
    await watcher.waitForSelector(`g.seat[data-seat="${seat}"][data-status="available"]`, { timeout: 60_000 });
  });

  it('keeps the basics on the public pages: titles, lang, labelled inputs, human errors', async () => {
    const { gw } = stack;
    const page = await buyer.newPage();
    await page.goto(`${gw}/sign-in`);
    await page.waitForSelector('h1');
    expect(await page.title()).to.equal('Sign in · EventTickets');
    await shoot(page, 'sign-in');
    await page.getByLabel('E-mail').fill('nobody@example.com');
    await page.getByLabel('Password').fill('wrong-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = await page.waitForSelector('[role=alert]');
    expect(await alert.textContent()).to.match(/do not match/);

    await page.goto(`${gw}/?q=no-such-event-anywhere`);
    await page.waitForSelector('[data-test=empty]');
    expect(await page.textContent('[data-test=empty]')).to.match(/No events match/);
    await shoot(page, 'home-empty');

    await page.goto(`${gw}/`);
    await page.waitForSelector('a.event-link');
    await shoot(page, 'home');
    // every visible input has an accessible name
    const unlabelled = await page.$$eval(
      'input:not([type=hidden])',
      (inputs) => inputs.filter((i) => !(i as HTMLInputElement).labels?.length && !i.getAttribute('aria-label')).length,
    );
    expect(unlabelled).to.equal(0);

    // a deep link is served the app (history fallback), and a protected page asks to sign in first
    await page.context().clearCookies();
    await page.evaluate(() => localStorage.clear());
    await page.goto(`${gw}/orders`);
    await page.waitForURL(/\/sign-in\?next=(%2F|\/)orders$/);
  });
});
