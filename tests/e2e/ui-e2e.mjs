#!/usr/bin/env node
// End-to-end test of the ParticleGrid QA web UI in headless Chromium (Debian's /usr/bin/chromium; no browser download).
//
//   node ui-e2e.mjs --base http://127.0.0.1:PORT --token TOKEN --lot LOT --screenshots DIR [--timeout 15000]
//
// The host must serve the UI at BASE and the API beside it, with LOT holding at least one run, particle images and
// one uncertain, unreviewed particle, and at least three lots in all (the lot list is paged two at a time). The review step relabels that particle (it changes the data).
// Prints one line per step; exits 0 when every step passes, 1 at the first failure (its screenshot is
// DIR/failure-STEP.png), 2 on bad arguments.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node ui-e2e.mjs --base http://127.0.0.1:PORT --token TOKEN --lot LOT --screenshots DIR [--timeout MS]';

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      base: { type: 'string' },
      token: { type: 'string' },
      lot: { type: 'string' },
      screenshots: { type: 'string' },
      timeout: { type: 'string', default: '15000' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) { console.log(USAGE); process.exit(0); }
const missing = ['base', 'token', 'lot', 'screenshots'].filter(k => !args[k]);
if (missing.length) {
  console.error(`missing ${missing.map(k => `--${k}`).join(', ')}\n${USAGE}`);
  process.exit(2);
}
const BASE = args.base.replace(/\/+$/, '') + '/';
const TOKEN = args.token;
const LOT = args.lot;
const SHOTS = path.resolve(args.screenshots);
const TIMEOUT = Number(args.timeout) > 0 ? Number(args.timeout) : 15000;
fs.mkdirSync(SHOTS, { recursive: true });

const tid = id => `[data-testid="${id}"]`;
const attr = value => JSON.stringify(String(value)); // a quoted CSS attribute value

class StepFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new StepFailure(message);
}

/** Waits for a condition, failing with a message that says what was expected (not Playwright's locator dump). */
async function expectVisible(locator, message, timeout = TIMEOUT) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch {
    throw new StepFailure(`${message} (not visible after ${timeout} ms)`);
  }
}

async function expectGone(locator, message, timeout = TIMEOUT) {
  try {
    await locator.first().waitFor({ state: 'detached', timeout });
  } catch {
    throw new StepFailure(`${message} (still there after ${timeout} ms)`);
  }
}

async function expectText(locator, pattern, message, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = (await locator.first().innerText({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null)) ?? '';
    if (pattern.test(last)) return last;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new StepFailure(`${message}: expected ${pattern}, found ${JSON.stringify(last.trim().slice(0, 300))}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);

const pageErrors = [];
const consoleErrors = [];
const serverErrors = [];
page.on('pageerror', e => pageErrors.push(e.message));
page.on('console', msg => {
  // Chromium logs every non-2xx response ("Failed to load resource"); the wrong-token step makes a 401 on purpose.
  if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) consoleErrors.push(msg.text());
});
page.on('response', res => { if (res.status() >= 500) serverErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`); });

let stepNo = 0;
let passed = 0;
const totalSteps = 8;

async function step(name, fn) {
  stepNo++;
  const started = Date.now();
  try {
    const detail = await fn();
    if (pageErrors.length) throw new StepFailure(`the page threw: ${pageErrors.join(' | ')}`);
    if (serverErrors.length) throw new StepFailure(`the server answered with an error: ${serverErrors.join(' | ')}`);
    passed++;
    console.log(`ok ${stepNo} - ${name}${detail ? `: ${detail}` : ''} (${Date.now() - started} ms)`);
  } catch (e) {
    const shot = path.join(SHOTS, `failure-${stepNo}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    const message = e instanceof StepFailure ? e.message : `${e.name}: ${e.message.split('\n')[0]}`;
    console.log(`FAIL ${stepNo} - ${name}: ${message}`);
    console.log(`  at ${page.url()}; screenshot ${shot}`);
    if (consoleErrors.length) console.log(`  console errors: ${consoleErrors.join(' | ')}`);
    console.log(`${passed} passed, 1 failed`);
    await browser.close().catch(() => {});
    process.exit(1);
  }
}

const shot = (name, options = {}) => page.screenshot({ path: path.join(SHOTS, name), ...options });

// 1. login view, a wrong token, the right token
await step('sign in', async () => {
  await page.goto(BASE, { waitUntil: 'domcontentloaded' });
  await expectVisible(page.locator(tid('login-view')), `the login view did not show at ${BASE}`);
  await expectVisible(page.locator(tid('login-token')), 'the "Access token" field is missing');
  const label = await page.locator('label[for="token"]').textContent().catch(() => '');
  check(/Access token/i.test(label ?? ''), `the token field is not labelled "Access token" (label: ${JSON.stringify(label)})`);
  await shot('login.png');

  await page.locator(tid('login-token')).fill(`wrong-${TOKEN}-wrong`);
  await page.locator(tid('login-submit')).click();
  await expectText(page.locator(tid('login-error')), /That token is not valid/, 'a wrong token did not show the error');
  check(await page.locator(tid('app-view')).isHidden(), 'the app showed after a wrong token');

  await page.locator(tid('login-token')).fill(TOKEN);
  await page.locator(tid('login-submit')).click();
  await expectVisible(page.locator(tid('app-view')), 'the right token did not open the app');
  check(await page.locator(tid('login-view')).isHidden(), 'the login view is still shown after signing in');
  return 'a wrong token was refused, the right one signed in';
});

// 2. the lot list pages (two lots a page: Next to the last page, Previous back) and filters by verdict
await step('lot list pages and filters by verdict', async () => {
  await page.goto(`${BASE}#/lots?limit=2`);
  const totalLine = page.locator(tid('lots-total'));
  await expectVisible(totalLine, 'the lot list shows no total');
  const total = Number(await totalLine.getAttribute('data-total'));
  check(total >= 3, `the lot list says ${total} lot(s); this test needs at least 3 (two pages of two)`);
  await expectText(totalLine, new RegExp(`^${total} lots\\b`), 'the total line does not say how many lots there are');

  /**
   * The lots of the page shown, with their verdicts, once page `number` for `hash` has rendered (the page before stays on
   * screen until the new one replaces it, so the URL alone does not say the rows are the new page's).
   */
  const rowsOf = async (hash, number) => {
    await page.waitForURL(url => url.hash === hash, { timeout: TIMEOUT })
      .catch(() => { throw new StepFailure(`expected ${hash}, at ${page.url()}`); });
    await expectVisible(page.locator(`${tid('lots-pager')}[data-page-hash=${attr(hash)}]`), `${hash} did not render its page`);
    await expectText(page.locator(tid('lots-shown')), new RegExp(`^Page ${number}: `), `${hash} does not show page ${number}`);
    return page.locator(tid('lot-row')).evaluateAll(rows =>
      rows.map(r => ({ lot: r.dataset.lot, verdict: r.querySelector('[data-testid="lot-verdict"]')?.dataset.verdict })));
  };
  const pages = [];
  let hash = '#/lots?limit=2';
  for (;;) {
    const rows = await rowsOf(hash, pages.length + 1);
    pages.push({ hash, rows });
    check(rows.length >= 1 && rows.length <= 2, `page ${pages.length} shows ${rows.length} lots, not 1 or 2`);
    const previousDisabled = await page.locator(tid('lots-prev')).getAttribute('aria-disabled');
    check((previousDisabled === 'true') === (pages.length === 1), `Previous is ${previousDisabled === 'true' ? 'disabled' : 'enabled'} on page ${pages.length}`);
    const next = page.locator(tid('lots-next'));
    if (await next.getAttribute('aria-disabled') === 'true') break;
    check(pages.length <= total, 'Next never ends');
    hash = await next.getAttribute('href');
    await next.click();
  }
  const listed = pages.flatMap(p => p.rows);
  check(listed.length === total, `the pages listed ${listed.length} lots, the total says ${total}`);
  check(new Set(listed.map(r => r.lot)).size === total, 'a lot was listed on two pages');
  check(listed.some(r => r.lot === LOT), `${LOT} is on no page`);
  await shot('lots-last-page.png');

  // Previous: the page before, as it was.
  await page.locator(tid('lots-prev')).click();
  const back = await rowsOf(pages[pages.length - 2].hash, pages.length - 1);
  check(JSON.stringify(back) === JSON.stringify(pages[pages.length - 2].rows), 'Previous did not show the page before as it was');

  // The verdict filter: only lots with that verdict, as many as the pages showed with it, from page 1 again.
  const counts = listed.reduce((c, r) => ({ ...c, [r.verdict]: (c[r.verdict] ?? 0) + 1 }), {});
  const details = [];
  for (const verdict of Object.keys(counts)) {
    await page.goto(`${BASE}#/lots?limit=2`);
    await rowsOf('#/lots?limit=2', 1);
    await page.locator(tid('lots-filter-verdict')).selectOption(verdict);
    await page.locator(tid('lots-filter-apply')).click();
    const filtered = [];
    hash = `#/lots?verdict=${verdict}&limit=2`;
    for (let number = 1; ; number++) {
      filtered.push(...await rowsOf(hash, number));
      const next = page.locator(tid('lots-next'));
      if (await next.getAttribute('aria-disabled') === 'true') break;
      hash = await next.getAttribute('href');
      await next.click();
    }
    check(filtered.every(r => r.verdict === verdict), `the ${verdict} filter listed ${filtered.filter(r => r.verdict !== verdict).map(r => r.lot).join(', ')}`);
    check(filtered.length === counts[verdict], `the ${verdict} filter listed ${filtered.length} lots; the pages showed ${counts[verdict]}`);
    const filteredTotal = Number(await page.locator(tid('lots-total')).getAttribute('data-total'));
    check(filteredTotal === counts[verdict], `the ${verdict} filter's total says ${filteredTotal}, not ${counts[verdict]}`);
    details.push(`${verdict}: ${filteredTotal}`);
  }
  await page.goto(`${BASE}#/lots`);
  return `${total} lots on ${pages.length} pages of two; by verdict ${details.join(', ')}`;
});

// 3. the lot list shows LOT
await step(`lot list shows ${LOT}`, async () => {
  if (!/#\/lots/.test(page.url())) await page.goto(`${BASE}#/lots`);
  const link = page.locator(`${tid('lot-link')}[data-lot=${attr(LOT)}]`);
  await expectVisible(link, `lot ${LOT} is not in the lot list`);
  const rows = await page.locator(tid('lot-link')).count();
  await shot('lots.png');
  await link.click();
  await page.waitForURL(url => url.hash === `#/lots/${encodeURIComponent(LOT)}`, { timeout: TIMEOUT })
    .catch(() => { throw new StepFailure(`clicking ${LOT} did not open #/lots/${LOT} (at ${page.url()})`); });
  return `${rows} lot(s) listed; opened ${LOT}`;
});

// 4. the lot page: verdict and chart
let reviewedBefore = 0;
let verdictOutcome = '';
await step('lot page shows the verdict and the chart', async () => {
  const verdict = page.locator(tid('verdict'));
  await expectVisible(verdict, `the lot page of ${LOT} shows no verdict`);
  const text = await expectText(verdict.locator(tid('verdict-outcome')), /\b(PASS|FAIL|NOT ASSESSABLE)\b/, 'the verdict has no outcome text');
  verdictOutcome = text.match(/\b(PASS|FAIL|NOT ASSESSABLE)\b/)[1];
  const chart = page.locator(`svg${tid('profile-chart')}`);
  await expectVisible(chart, 'the lot page has no SVG chart');
  const bars = await chart.locator(tid('chart-bar')).count();
  check(bars > 0, 'the chart has no bars');
  const limits = await chart.locator(tid('limit-line')).count();
  if (verdictOutcome !== 'NOT ASSESSABLE') check(limits >= 2, `the chart shows ${limits} limit line(s); expected one at 10 um and one at 25 um`);
  check(await page.locator(tid('profile-table')).count() === 1, 'the table of the profile is missing');
  const reviewedText = await page.locator(tid('lot-reviewed-text')).textContent();
  reviewedBefore = Number((reviewedText.match(/reviewed:\s*([\d,]+)/) ?? [])[1]?.replace(/,/g, '') ?? NaN);
  check(Number.isFinite(reviewedBefore), `the lot page does not say how many particles were reviewed (${JSON.stringify(reviewedText)})`);
  await shot('lot.png', { fullPage: true });
  return `verdict ${verdictOutcome}, ${bars} bar segments, ${limits} limit lines, reviewed: ${reviewedBefore}`;
});

// 5. the gallery shows thumbnails loaded through blob: URLs
await step('gallery shows thumbnails', async () => {
  await expectVisible(page.locator(tid('gallery')), 'the lot page has no gallery');
  await page.locator(tid('gallery')).scrollIntoViewIfNeeded();
  try {
    await page.waitForFunction(sel => [...document.querySelectorAll(sel)]
      .some(img => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0), `${tid('gallery-item')} img`, { timeout: TIMEOUT });
  } catch {
    const items = await page.locator(tid('gallery-item')).count();
    const info = await page.locator(tid('gallery-info')).textContent().catch(() => '');
    throw new StepFailure(`no gallery thumbnail loaded from a blob: URL (${items} gallery item(s); ${JSON.stringify(info)})`);
  }
  const loaded = await page.locator(`${tid('gallery-item')} img`).evaluateAll(imgs =>
    imgs.filter(i => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0).length);
  // the detail panel of the first particle: full image and the networks' votes
  await page.locator(tid('gallery-item')).first().click();
  await expectVisible(page.locator(`${tid('particle-detail')} h3`), 'clicking a particle showed no detail panel');
  await page.waitForFunction(sel => { const i = document.querySelector(sel); return !i || (i.complete && i.naturalWidth > 0); },
    `${tid('particle-detail')} img`, { timeout: TIMEOUT }).catch(() => { throw new StepFailure('the full image in the detail panel did not load'); });
  await page.locator('#gallery-heading').evaluate(el => el.scrollIntoView({ block: 'start' }));
  await shot('gallery.png');
  return `${loaded} thumbnail(s) loaded; the detail panel opened`;
});

// 6. the review queue: relabel the first particle with a reason; it leaves the queue and enters the audit trail
await step('review: relabel the first uncertain particle', async () => {
  await page.locator(tid('review-link')).first().click();
  await page.waitForURL(url => url.hash === `#/lots/${encodeURIComponent(LOT)}/review`, { timeout: TIMEOUT })
    .catch(() => { throw new StepFailure(`the review link did not open #/lots/${LOT}/review`); });
  const items = page.locator(tid('review-item'));
  await expectVisible(items, `the review queue of ${LOT} is empty: the test needs at least one uncertain, unreviewed particle`);
  const first = items.first();
  const key = await first.getAttribute('data-key');
  const particleId = await first.getAttribute('data-particle-id');
  const select = first.locator(tid('review-label'));
  const current = await select.inputValue();
  const options = await select.locator('option').evaluateAll(os => os.map(o => o.value));
  const other = options.find(o => o !== current);
  check(other, `the label list offers no class other than ${current} (${options.join(', ')})`);

  // a review without a reason is refused before it is sent
  await select.selectOption(other);
  await first.locator(tid('review-reason')).fill('');
  await first.locator(tid('review-relabel')).click();
  await expectVisible(first.locator(tid('review-error')), 'relabelling without a reason showed no error');

  const reason = `E2E relabel ${current} to ${other} at ${new Date().toISOString()}`;
  await first.locator(tid('review-reason')).fill(reason);
  await first.locator(tid('review-relabel')).click();
  await expectGone(page.locator(`${tid('review-item')}[data-key=${attr(key)}]`), `particle ${key} stayed in the queue after relabelling`);
  await expectText(page.locator(tid('review-status')), /Reviewed\s+1\b/, 'the status does not say the particle was reviewed');
  const row = page.locator(`${tid('audit-table')} ${tid('audit-row')}[data-particle-id=${attr(particleId)}]`).filter({ hasText: reason });
  await expectVisible(row, `the audit trail does not list the review of particle ${particleId} with its reason`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('review.png');
  await page.locator(tid('audit-table')).screenshot({ path: path.join(SHOTS, 'review-audit.png') });
  return `particle ${key} relabelled ${current} -> ${other}; the audit trail lists it`;
});

// 7. back on the lot page the profile counts the review
await step('lot page counts the review', async () => {
  await page.locator(tid('back-to-lot')).click();
  const expected = reviewedBefore + 1;
  await expectText(page.locator(tid('lot-reviewed-text')), new RegExp(`reviewed:\\s*${expected}\\b`),
    `the lot page does not say "reviewed: ${expected}"`);
  return `reviewed: ${expected}`;
});

// 8. a run page from the lot's runs shows its progress
await step('run page shows progress', async () => {
  const link = page.locator(tid('run-link')).first();
  await expectVisible(link, `the lot page of ${LOT} lists no runs`);
  const runId = await link.getAttribute('data-run');
  await link.click();
  await page.waitForURL(url => url.hash === `#/runs/${encodeURIComponent(runId)}`, { timeout: TIMEOUT })
    .catch(() => { throw new StepFailure(`the run link did not open #/runs/${runId}`); });
  await expectVisible(page.locator(tid('run-progress')), `the run page of ${runId} has no progress bar`);
  const text = await expectText(page.locator(tid('run-progress-text')), /\d[\d,]*\s+(of\s+[\d,]+\s+)?particles recorded/,
    `the run page of ${runId} does not show its progress`);
  await expectText(page.locator(tid('run-counts')), /Classified/, 'the run page does not show the classified count');
  const state = (await page.locator(tid('run-state')).textContent())?.trim();
  await shot('run.png');
  return `${runId} (${state}): ${text.trim()}`;
});

if (consoleErrors.length) console.log(`note: console errors: ${consoleErrors.join(' | ')}`);
console.log(`${passed} passed, 0 failed`);
await browser.close();
process.exit(passed === totalSteps ? 0 : 1);
