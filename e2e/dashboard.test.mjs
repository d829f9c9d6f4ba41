// The dashboard in a real headless Chromium (playwright-core driving Debian's `chromium`):
// sign in, the release list, a release's detail page (First Contentful Paint and bytes
// transferred measured), the kill switch, and axe-core on every page (no serious or critical
// violation). Run by crates/cli/tests/dashboard_browser.rs, which starts the server and seeds it:
//   GREENLIGHT_URL, GREENLIGHT_LEAD (engineering lead token), GREENLIGHT_QA (QA lead token),
//   CHROMIUM (the browser), SCREENSHOTS (a directory, optional).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const url = process.env.GREENLIGHT_URL;
const shots = process.env.SCREENSHOTS;
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
});

async function signIn(token) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/ui/login`);
  await axeClean(page, 'sign-in');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/ui/releases');
  return page;
}

/** Fails on any serious or critical accessibility violation of the page. */
async function axeClean(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: ${JSON.stringify(bad)}`);
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

test('an engineering lead signs in, reads a release and pulls the kill switch', async () => {
  const page = await signIn(process.env.GREENLIGHT_LEAD);
  await assert.doesNotReject(page.getByRole('link', { name: '1.4.0' }).waitFor());
  await axeClean(page, 'releases');
  await shot(page, 'releases');

  // The release detail page: first paint and bytes, measured in the browser.
  await page.goto(`${url}/ui/releases/1.4.0`);
  await page.getByRole('heading', { name: 'Quality gates' }).waitFor();
  const perf = await page.evaluate(async () => {
    const fcp = await new Promise((resolve) => {
      const found = (entries) => entries.find((e) => e.name === 'first-contentful-paint');
      const now = found(performance.getEntriesByType('paint'));
      if (now) return resolve(now.startTime);
      new PerformanceObserver((list) => {
        const entry = found(list.getEntries());
        if (entry) resolve(entry.startTime);
      }).observe({ type: 'paint', buffered: true });
      setTimeout(() => resolve(null), 3000);
    });
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const bytes = nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0);
    return { fcp, bytes, document: nav.transferSize };
  });
  console.log(`release detail: FCP ${perf.fcp?.toFixed(0)} ms, ${perf.bytes} bytes transferred`);
  assert.ok(perf.fcp !== null && perf.fcp < 1000, `FCP ${perf.fcp} ms (target < 1 s)`);
  assert.ok(perf.bytes < 200 * 1024, `${perf.bytes} bytes (target < 200 KB)`);
  await axeClean(page, 'release detail');
  await shot(page, 'release');

  await page.goto(`${url}/ui/flags`);
  await page.getByLabel('Reason').fill('scores not saved on Safari');
  await page.getByRole('button', { name: 'Kill new-rhythm-game' }).click();
  await page.getByRole('status').filter({ hasText: 'new-rhythm-game is killed' }).waitFor();
  assert.match(await page.locator('table').innerText(), /KILLED: scores not saved on Safari/);
  await axeClean(page, 'flags');
  await shot(page, 'flags');

  await page.goto(`${url}/ui/metrics`);
  await axeClean(page, 'metrics');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.waitForURL('**/ui/login');
  await page.close();
});

test('a QA lead sees no kill switch and approves only as QA lead', async () => {
  const page = await signIn(process.env.GREENLIGHT_QA);
  await page.goto(`${url}/ui/flags`);
  assert.equal(await page.getByRole('button', { name: /^Kill / }).count(), 0);
  await page.goto(`${url}/ui/releases/1.4.0`);
  assert.equal(await page.getByRole('button', { name: 'Approve as qa_lead' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Approve as engineering_lead' }).count(), 0);
  // Approving before staging is refused by the release rules, shown in the page.
  await page.getByRole('button', { name: 'Approve as qa_lead' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /refused/);
  await axeClean(page, 'refusal');
  await page.close();
});
