// The dashboard in a real headless Chromium (playwright-core driving Debian's `chromium`):
// sign in, the home page for each role (its parts and what it offers that role; First
// Contentful Paint and bytes measured), the release list, a release's detail page (the same
// measures), the kill switch and restore, and axe-core on every page (no serious or critical
// violation). Run by crates/cli/tests/dashboard_browser.rs, which starts the server and seeds it:
//   GREENLIGHT_URL, GREENLIGHT_LEAD (engineering lead token), GREENLIGHT_QA (QA lead token),
//   GREENLIGHT_PO (product owner token), GREENLIGHT_ONCALL (on-call engineer token),
//   GREENLIGHT_SYSADMIN (system administrator token), GREENLIGHT_ADMIN (moves the test clock),
//   CHROMIUM (the browser), SCREENSHOTS (a directory, optional).
// Release 1.5.0 is walked through its page: the last Phase 1 gate, staging, approvals and Go,
// production, rollback; runbook progress arrives live (the page reloads itself when a run ends).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
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
  // The pages' Content-Security-Policy allows no inline script or style: any violation the
  // browser reports fails the page's check.
  page.cspViolations = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && msg.text().includes('Content Security Policy')) {
      page.cspViolations.push(msg.text());
    }
  });
  await page.goto(`${url}/ui/login`);
  await axeClean(page, 'sign-in');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/ui/home');
  return page;
}

/** The page's First Contentful Paint (ms, or null) and the bytes it transferred (all, and the document's). */
async function paintAndBytes(page) {
  return page.evaluate(async () => {
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
}

/** Fails on any serious or critical accessibility violation of the page. */
async function axeClean(page, name) {
  assert.deepEqual(page.cspViolations ?? [], [], `${name}: Content-Security-Policy violations`);
  // Injected through the DevTools protocol, which the page's CSP does not govern (a script
  // tag with inline content would be refused by it, rightly).
  await page.evaluate(axeSource);
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
  const perf = await paintAndBytes(page);
  console.log(`release detail: FCP ${perf.fcp?.toFixed(0)} ms, ${perf.bytes} bytes transferred`);
  assert.ok(perf.fcp !== null && perf.fcp < 1000, `FCP ${perf.fcp} ms (target < 1 s)`);
  assert.ok(perf.bytes < 200 * 1024, `${perf.bytes} bytes (target < 200 KB)`);
  await axeClean(page, 'release detail');
  await shot(page, 'release');

  // Keyboard alone: the first Tab reaches the skip link, which moves on to the content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.ok(page.url().endsWith('#main'));

  // A phone: nothing wider than the screen but the tables, which scroll on their own.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
  await axeClean(page, 'release on a phone');
  await shot(page, 'release-phone');
  await page.setViewportSize({ width: 1100, height: 900 });

  await page.goto(`${url}/ui/flags`);
  await page.getByLabel('Reason').fill('scores not saved on Safari');
  await page.getByRole('button', { name: 'Kill new-rhythm-game' }).click();
  await page.getByRole('status').filter({ hasText: 'new-rhythm-game is killed' }).waitFor();
  assert.match(await page.locator('table').innerText(), /KILLED: scores not saved on Safari/);
  await axeClean(page, 'flags');
  await shot(page, 'flags');
  // A killed flag's restore button, for those who may restore it.
  await page.getByRole('button', { name: 'Restore new-rhythm-game' }).click();
  await page.getByRole('status').filter({ hasText: 'new-rhythm-game is restored' }).waitFor();
  assert.doesNotMatch(await page.locator('table').innerText(), /KILLED/);

  await page.goto(`${url}/ui/metrics`);
  await axeClean(page, 'metrics');
  await page.goto(`${url}/ui/calendar`);
  await page.getByRole('heading', { name: 'Release calendar' }).first().waitFor();
  await axeClean(page, 'calendar');
  await shot(page, 'calendar');
  await page.goto(`${url}/ui/audit?release=1.4.0`);
  await axeClean(page, 'audit');
  await page.goto(`${url}/ui/releases?type=standard&status=planned`);
  await axeClean(page, 'filtered releases');
  await page.getByRole('button', { name: /Sign out/ }).click();
  await page.waitForURL('**/ui/login');
  await page.close();
});

/** Signs in as `token`'s user, lands on the home page and checks its four parts and axe. */
async function home(token, name) {
  const page = await signIn(token);
  for (const part of ['Now', 'Next', 'Waiting on', 'Flags']) {
    await page.getByRole('heading', { level: 2, name: part }).waitFor();
  }
  // Releases in flight in train order, each with its phase as a progress line.
  const trains = page.getByRole('heading', { level: 3 }).filter({ has: page.getByRole('link') });
  assert.deepEqual(await trains.getByRole('link').allInnerTexts(), ['1.4.0', '1.5.0']);
  assert.equal(await page.getByRole('list', { name: 'Phase of 1.4.0' }).getByRole('listitem').count(), 5);
  await axeClean(page, `home (${name})`);
  return page;
}

test('the home page offers each role its own part first', async () => {
  // The engineering lead: the missing gate by its spec wording, with a link to the form,
  // and approvals in their role; the flags' kill switch and restore.
  const lead = await home(process.env.GREENLIGHT_LEAD, 'engineering lead');
  const leadWaiting = await lead.locator('section[aria-labelledby="waiting-h"]').innerText();
  assert.match(leadWaiting, /You can do:/);
  assert.match(leadWaiting, /Gate: Security scan completed \(no critical vulnerabilities\): Record the gate's result/);
  assert.doesNotMatch(await lead.locator('main').innerText(), /security_scan/);
  assert.match(await lead.locator('.countdowns').first().innerText(), /Deployment window \(\w+\): (in|.* ago)/);
  await lead.getByRole('link', { name: /kill switch and restore/ }).waitFor();
  // First paint and bytes of the home page, measured as for the release page.
  await lead.goto(`${url}/ui/home`);
  await lead.getByRole('heading', { name: 'Waiting on' }).waitFor();
  const perf = await paintAndBytes(lead);
  console.log(`home: FCP ${perf.fcp?.toFixed(0)} ms, ${perf.bytes} bytes transferred`);
  assert.ok(perf.fcp !== null && perf.fcp < 1000, `home FCP ${perf.fcp} ms (target < 1 s)`);
  assert.ok(perf.bytes < 200 * 1024, `home ${perf.bytes} bytes (target < 200 KB)`);
  await shot(lead, 'home');
  await lead.getByRole('link', { name: "Record the gate's result" }).first().click();
  await lead.waitForURL(/\/ui\/releases\/1\.4\.0#gates$/);
  await lead.close();

  // The QA lead records gates too, and approves as QA lead.
  const qa = await home(process.env.GREENLIGHT_QA, 'QA lead');
  const qaWaiting = await qa.locator('section[aria-labelledby="waiting-h"]').innerText();
  assert.match(qaWaiting, /You can do:/);
  assert.match(qaWaiting, /Approval by the QA lead: Approve/);
  assert.equal(await qa.getByRole('link', { name: /kill switch/ }).count(), 0);
  await qa.close();

  // The product owner: their approval and vote first, the gates with who can record them.
  const po = await home(process.env.GREENLIGHT_PO, 'product owner');
  const poWaiting = await po.locator('section[aria-labelledby="waiting-h"]').innerText();
  assert.match(poWaiting, /You can do:\s+Approval by the product owner: Approve/);
  assert.match(poWaiting, /Gate: Security scan completed \(no critical vulnerabilities\); who can: erin, quinn/);
  assert.equal(await po.getByRole('link', { name: "Record the gate's result" }).count(), 0);
  await po.close();

  // The on-call engineer pulls kill switches but records no gate and approves nothing: the
  // blockers are listed with who can clear them, and nothing is offered as theirs.
  const oncall = await home(process.env.GREENLIGHT_ONCALL, 'on-call engineer');
  const oncallWaiting = await oncall.locator('section[aria-labelledby="waiting-h"]').innerText();
  assert.doesNotMatch(oncallWaiting, /You can do:/);
  assert.match(oncallWaiting, /Approval by the QA lead; who can: quinn/);
  assert.equal(await oncall.getByRole('link', { name: "Record the gate's result" }).count(), 0);
  await oncall.getByRole('link', { name: /kill switch and restore/ }).waitFor();
  await oncall.close();

  // The system administrator watches: the same blockers, no kill switch.
  const admin = await home(process.env.GREENLIGHT_SYSADMIN, 'system administrator');
  const adminWaiting = await admin.locator('section[aria-labelledby="waiting-h"]').innerText();
  assert.doesNotMatch(adminWaiting, /You can do:/);
  assert.match(adminWaiting, /Gate: Security scan completed \(no critical vulnerabilities\); who can: erin, quinn/);
  assert.equal(await admin.getByRole('link', { name: /kill switch/ }).count(), 0);
  await admin.getByRole('link', { name: 'All flags' }).waitFor();
  await admin.close();
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

/** Calls the API as `token`; fails on an error status. */
async function api(token, method, path, body) {
  const response = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function setClock(now) {
  await api(process.env.GREENLIGHT_ADMIN, 'PUT', '/_test/clock', { now });
}

/** Waits until the release page (reloaded by its own script) shows `status`. */
async function statusShows(page, status) {
  await page.locator('h1 .status', { hasText: new RegExp(`^${status}$`) }).waitFor({ timeout: 20000 });
}

test('an engineering lead walks a release from its last gate to production and back', async () => {
  const [qa, po] = [process.env.GREENLIGHT_QA, process.env.GREENLIGHT_PO];
  // 1.4.0 makes way: a lower version still planned would keep 1.5.0 out of production.
  await api(process.env.GREENLIGHT_LEAD, 'POST', '/releases/1.4.0/cancel', { reason: 'folded into 1.5.0' });
  // Tuesday 15 December 2026, 10:00 in Los Angeles.
  await setClock('2026-12-15T18:00:00Z');
  let page = await signIn(process.env.GREENLIGHT_LEAD);
  await page.goto(`${url}/ui/releases/1.5.0`);

  // The last Phase 1 gate, recorded in the page.
  const planning = page.getByRole('region', { name: 'planning open' });
  await planning.getByText('Record a planning gate result').click();
  await planning.getByLabel('Gate', { exact: true }).selectOption('security_scan');
  await planning.getByLabel('Passed').check();
  await planning.getByLabel('Evidence or reason').fill('SARIF: no critical finding');
  await planning.getByRole('button', { name: 'Record gate' }).click();
  await page.getByRole('status').filter({ hasText: 'Recorded security_scan: passed.' }).waitFor();

  // Staging, confirmed; progress arrives by itself.
  await page.getByRole('button', { name: 'Deploy to staging…' }).click();
  await page.getByRole('heading', { name: 'Deploy 1.5.0 to staging?' }).waitFor();
  assert.match(await page.locator('main').innerText(), /deploy_staging/);
  await axeClean(page, 'confirmation');
  await shot(page, 'confirm-deploy');
  await page.getByRole('button', { name: 'Deploy 1.5.0 to staging' }).click();
  await page.getByText('Running the staging runbook').waitFor();
  assert.equal(new URL(page.url()).pathname, '/ui/releases/1.5.0', 'a reload reads, never re-posts');
  await statusShows(page, 'staging');
  assert.match(await page.locator('#runbook').innerText(), /deploy_staging\s+succeeded/);

  // Phase 2 by the QA lead (API); approvals and Go from the others, the lead's in the page.
  const release = await api(qa, 'GET', '/releases/1.5.0');
  const staging = release.phases.find((p) => p.phase === 'staging_validation');
  for (const gate of staging.gates) {
    await api(qa, 'POST', '/releases/1.5.0/gates', { phase: 'staging_validation', gate: gate.name, passed: true });
  }
  await api(qa, 'POST', '/releases/1.5.0/approvals', { role: 'qa_lead' });
  await api(po, 'POST', '/releases/1.5.0/approvals', { role: 'product_owner' });
  await page.reload();
  await page.getByRole('button', { name: 'Approve as engineering_lead' }).click();
  await page.getByRole('status').filter({ hasText: 'Approved as engineering_lead.' }).waitFor();
  await api(qa, 'POST', '/releases/1.5.0/go-no-go', { role: 'qa_lead', vote: 'go' });
  await api(po, 'POST', '/releases/1.5.0/go-no-go', { role: 'product_owner', vote: 'go' });
  await page.getByRole('group', { name: 'Go/No-Go as engineering_lead' }).getByLabel('Go', { exact: true }).check();
  await page.getByRole('button', { name: 'Vote' }).click();
  await page.getByText('Go/No-Go: go').waitFor();

  // Production on Thursday 17 December, 14:30, inside the window; a new day, a new session.
  await setClock('2026-12-17T22:30:00Z');
  await page.close();
  page = await signIn(process.env.GREENLIGHT_LEAD);
  await page.goto(`${url}/ui/releases/1.5.0`);
  await page.getByRole('button', { name: 'Deploy to production…' }).click();
  // While it runs, the script swaps in the runbook section alone as each step ends.
  const sections = [];
  page.on('response', (r) => { if (r.url().endsWith('/ui/releases/1.5.0/runbook')) sections.push(r.status()); });
  await page.getByRole('button', { name: 'Deploy 1.5.0 to production' }).click();
  await page.getByText('Running the production runbook').waitFor();
  await page.locator('#runbook').getByText(/^deploy$/).waitFor();
  assert.equal(await page.getByText('Running the production runbook').count(), 1, 'swapped in, not reloaded');
  await statusShows(page, 'deployed');
  assert.ok(sections.length > 0 && sections.every((s) => s === 200), `runbook sections: ${sections}`);
  assert.match(await page.locator('#runbook').innerText(), /smoke_tests\s+succeeded/);
  await page.getByRole('heading', { name: 'Health' }).waitFor();
  await axeClean(page, 'deployed release');
  await shot(page, 'deployed');

  // Roll back, confirmed; the follow-ups appear with their deadlines.
  await page.getByLabel('Why roll back').fill('scores not saved on Safari');
  await page.getByRole('button', { name: 'Roll back…' }).click();
  await page.getByRole('button', { name: 'Roll back 1.5.0' }).click();
  await statusShows(page, 'rolled_back');
  const text = await page.locator('main').innerText();
  assert.match(text, /scores not saved on Safari/);
  assert.match(text, /instant_rollback\s+succeeded/);
  await page.getByRole('button', { name: /^Mark .* done$/ }).first().click();
  await page.getByRole('status').filter({ hasText: /^Marked .* done\.$/ }).waitFor();
  await axeClean(page, 'rolled back release');
  await shot(page, 'rolled-back');
  await page.close();
});
