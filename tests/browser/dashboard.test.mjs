// The fleet dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) against a real aloftd over TLS with a seeded fleet. run.sh sets:
//   ALOFTD, ALOFT            the binaries under test
//   ALOFT_SOURCE_DIR         the repository (web/ and the test vectors)
//   ALOFT_NODE_MODULES       where `npm ci` put playwright-core
//   ALOFT_ARTIFACTS          where screenshots and aloftd's log go (build/browser-artifacts)
// Waits are Playwright's (for an element, or a condition in the page), never fixed sleeps.

import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {createHash, X509Certificate} from 'node:crypto';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {promisify} from 'node:util';

import {Admin, request, seedFleet, startAloftd} from './fleet.mjs';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (run the test through tests/browser/run.sh)`);
  return value;
};
const ALOFTD = env('ALOFTD');
const ALOFT = env('ALOFT');
const SOURCE = env('ALOFT_SOURCE_DIR');
const ARTIFACTS = env('ALOFT_ARTIFACTS');
const {chromium} = createRequire(path.join(env('ALOFT_NODE_MODULES'), 'index.js'))('playwright-core');

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const WIDTHS = [1280, 390];
const WAIT_MS = 15_000;  // an upper bound for one live update (the page polls every 3 s)

// Every page, with what shows that its data has arrived.
const PAGES = [
  {name: 'overview', hash: '#/', ready: '#overview-rollouts table'},
  {name: 'rollouts', hash: '#/rollouts', ready: '#rollouts-table table'},
  {name: 'rollout', hash: (seed) => `#/rollouts/${seed.rolloutId}`, ready: '#rollout-counts table'},
  {name: 'rollout-halted', hash: (seed) => `#/rollouts/${seed.haltedRolloutId}`, ready: '#halt-reason'},
  {name: 'releases', hash: '#/releases', ready: '#releases-table table'},
  {name: 'devices', hash: '#/devices', ready: '#devices-table table'},
  {name: 'device', hash: '#/devices/esp32-005', ready: '#device-timeline ol'},
];

// In the page: every visible element with its own text, whose text contrast against its
// effective background is below WCAG AA's 4.5:1. Returns descriptions of the failures.
function lowContrastText() {
  const parse = (color) => {
    const m = /rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)/.exec(color);
    return m ? {rgb: [Number(m[1]), Number(m[2]), Number(m[3])], alpha: m[4] === undefined ? 1 : Number(m[4])} : null;
  };
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const color = parse(getComputedStyle(e).backgroundColor);
      if (color && color.alpha > 0.5) {
        return color.rgb;
      }
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const element of document.querySelectorAll('body *')) {
    if (element.closest('svg') || !element.checkVisibility?.() ||
        ![...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) {
      continue;
    }
    const style = getComputedStyle(element);
    const rect = element.getBoundingClientRect();
    if (rect.bottom < 0 || rect.right < 0) {
      continue;  // moved off screen until focused (the skip link)
    }
    const [l1, l2] = [luminance(parse(style.color).rgb), luminance(background(element))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < 4.5) {
      failures.push(`${element.tagName}.${element.className} "${element.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}

// The SHA-256 of the server certificate's public key, base64: Chromium trusts exactly that key
// (--ignore-certificate-errors-spki-list), as a device pins the CA.
function spkiHash(chainPem) {
  const first = chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 25);
  const spki = new X509Certificate(first).publicKey.export({type: 'spki', format: 'der'});
  return createHash('sha256').update(spki).digest('base64');
}

describe('fleet dashboard', () => {
  let work;
  let server;
  let admin;
  let seed;
  let context;
  let page;
  let token;
  const problems = [];  // console errors (CSP violations among them) and uncaught exceptions

  before(async () => {
    fs.mkdirSync(ARTIFACTS, {recursive: true});
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'aloft-browser-'));
    const dataDir = path.join(work, 'data');
    await promisify(execFile)(ALOFT, ['server', 'init', '--data', dataDir,
                                      '--hostname', '127.0.0.1', '--hostname', 'localhost']);
    const logPath = path.join(ARTIFACTS, 'aloftd.log');
    fs.rmSync(logPath, {force: true});
    server = await startAloftd({aloftd: ALOFTD, dataDir, webRoot: path.join(SOURCE, 'web'), logPath});
    const ca = fs.readFileSync(path.join(dataDir, 'ca.pem'));
    token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
    admin = new Admin(server.url, ca, token);
    seed = await seedFleet({aloft: ALOFT, admin, dataDir, work, sourceDir: SOURCE});

    const spki = spkiHash(fs.readFileSync(path.join(dataDir, 'server.pem'), 'utf8'));
    context = await chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${spki}`],
      viewport: {width: 1280, height: 900},
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('console', (message) => {
      if (message.type() === 'error') {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
  });

  after(async () => {
    await context?.close();
    const code = await server?.stop();
    if (work) {
      fs.rmSync(work, {recursive: true, force: true});
    }
    assert.equal(code, 0, 'aloftd stops cleanly on SIGTERM');
  });

  async function shot(name) {
    await page.screenshot({path: path.join(ARTIFACTS, `${name}.png`), fullPage: true});
  }

  async function logIn(withToken) {
    await page.fill('#token', withToken);
    await page.click('form.login button[type=submit]');
  }

  test('aloftd serves the dashboard: types, CSP, caching, no listing, no traversal', async () => {
    const ca = admin.ca;
    const index = await request(`${server.url}/`, {ca});
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(index.body, /<script type="module" src="js\/app.js">/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    const csp = index.headers['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');

    const script = await request(`${server.url}/js/app.js`, {ca});
    assert.equal(script.status, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    const style = await request(`${server.url}/app.css`, {ca});
    assert.equal(style.headers['content-type'], 'text/css; charset=utf-8');
    const again = await request(`${server.url}/app.css`,
                                {ca, headers: {'If-None-Match': style.headers.etag}});
    assert.equal(again.status, 304);

    for (const target of ['/js/', '/js', '/js/pages/', '/../data/admin.token', '/%2e%2e/admin.token',
                          '/js/%2e%2e/index.html', '/.hidden', '/index.html/']) {
      const answer = await request(`${server.url}${target}`, {ca});
      assert.equal(answer.status, 404, target);
      assert.doesNotMatch(answer.body, /<a href|app\.js/, target);
    }
  });

  test('a wrong token is refused with a clear message, and kept nowhere', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('form.login');
    await shot('login-1280');
    await logIn('this-is-not-the-admin-token');
    await page.waitForSelector('#login-message.error:has-text("refused")');
    assert.match(await page.textContent('#login-message'), /The server refused this token/);
    await logIn(seed.deviceToken);
    await page.waitForSelector('#login-message.error:has-text("belongs to a device")');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('aloft.adminToken')), null);
    assert.ok(await page.isHidden('#nav'));
    assert.ok(!page.url().includes(seed.deviceToken));
  });

  test('the admin token logs in; the overview shows the API\'s numbers', async () => {
    await logIn(token);
    await page.waitForSelector('#overview-rollouts table');
    assert.ok(!page.url().includes(token), 'the token never appears in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('aloft.adminToken')), token);
    const fleet = await admin.get('/api/v1/fleet');
    await page.waitForFunction((n) => document.querySelector('#fleet-size').textContent === n,
                               String(fleet.devices));
    assert.equal(await page.textContent('#version-count'), String(fleet.versions.length));
    const chartLabel = await page.getAttribute('#versions-chart svg', 'aria-label');
    for (const entry of fleet.versions) {
      assert.ok(chartLabel.includes(`${entry.version || '(unknown)'} · ${entry.project} · ${entry.chip}: ${entry.devices}`),
                `chart alternative names ${entry.version}: ${chartLabel}`);
    }
    const rows = await page.$$eval('#overview-rollouts tbody tr', (trs) => trs.map((tr) => tr.dataset.row));
    assert.deepEqual(rows.sort(), [String(seed.rolloutId), String(seed.haltedRolloutId)].sort());
  });

  test('a rollout\'s counts on the page match the API, and update live without a reload', async () => {
    await page.goto(`${server.url}/#/rollouts/${seed.rolloutId}`);
    await page.waitForSelector('#rollout-counts table');
    const readCounts = () => page.$$eval('#rollout-counts tbody tr', (trs) =>
      Object.fromEntries(trs.map((tr) => [tr.dataset.row, Number(tr.querySelector('td').textContent.replace(/,/g, ''))])));
    let api = await admin.get(`/api/v1/rollouts/${seed.rolloutId}`);
    const shown = await readCounts();
    for (const [state, count] of Object.entries(api.counts)) {
      assert.equal(shown[state], count, `count of ${state}`);
    }
    assert.equal(shown.total, api.devices);
    assert.ok(api.counts.confirmed > 0 && api.counts.failed > 0 && api.counts.rolled_back > 0,
              'the seed has successes and failures');
    assert.equal(await page.textContent('[data-stat="failure-rate"]'),
                 `${(api.failure_rate * 100).toFixed(1)}%`);
    assert.match(await page.getAttribute('#failure-meter svg', 'aria-label'),
                 new RegExp(`halts above ${(api.halt_failure_rate * 100).toFixed(1)}%`));

    // A device reports; the page follows without reloading.
    await page.evaluate(() => { window.notReloaded = true; });
    const [device, update] = seed.waiting[0];
    await device.report(update, ['downloading']);
    api = await admin.get(`/api/v1/rollouts/${seed.rolloutId}`);
    await page.waitForFunction((n) =>
      document.querySelector('#rollout-counts tr[data-row="downloading"] td')?.textContent === n,
    String(api.counts.downloading));
    assert.equal(await page.evaluate(() => window.notReloaded), true);
    assert.equal((await readCounts()).offered, api.counts.offered);
  });

  test('a rollout that halted itself shows why', async () => {
    const api = await admin.get(`/api/v1/rollouts/${seed.haltedRolloutId}`);
    assert.equal(api.state, 'halted');
    await page.goto(`${server.url}/#/rollouts/${seed.haltedRolloutId}`);
    await page.waitForSelector('#halt-reason');
    const text = await page.textContent('#halt-reason');
    assert.ok(text.includes(api.reason.replace(/^halted:\s*/, '')), text);
    assert.ok(await page.isVisible('#resume'));
    assert.ok(await page.isHidden('#pause'));
  });

  test('pause from the page: the API reports it paused; resume and raise the percentage', async () => {
    const id = seed.rolloutId;
    await page.goto(`${server.url}/#/rollouts/${id}`);
    await page.waitForSelector('#pause:visible');
    await page.fill('#change-reason', 'browser test: holding for a look');
    await page.click('#pause');
    await page.waitForSelector('#resume:visible');
    let api = await admin.get(`/api/v1/rollouts/${id}`);
    assert.equal(api.state, 'paused');
    assert.equal(api.reason, 'browser test: holding for a look');
    assert.match(await page.textContent('#control-message'), /paused/);
    assert.match(await page.textContent('#pause-reason'), /holding for a look/);
    await shot('rollout-paused-1280');

    await page.fill('#change-reason', '');
    await page.click('#resume');
    await page.waitForSelector('#pause:visible');
    api = await admin.get(`/api/v1/rollouts/${id}`);
    assert.equal(api.state, 'active');

    const before = api.percent;
    const raised = before + 20;
    await page.fill('#new-percent', String(raised));
    await page.click('#set-percent');
    await page.waitForSelector(`#control-message:has-text("${raised}%")`);
    api = await admin.get(`/api/v1/rollouts/${id}`);
    assert.equal(api.percent, raised);
    assert.equal(api.percent_history.at(-1).percent, raised);
    await page.waitForSelector(`#percent-history li:has-text("${raised}%")`);

    await page.fill('#new-percent', '101');
    await page.click('#set-percent');
    await page.waitForSelector('#control-message.error');
    assert.equal((await admin.get(`/api/v1/rollouts/${id}`)).percent, raised, 'nothing sent');
  });

  test('keyboard only: focus order reaches the navigation and the controls, visibly', async () => {
    // A fresh load, so sequential focus navigation starts at the top of the document.
    await page.goto(`${server.url}/#/`);
    await page.reload();
    await page.waitForSelector('#overview-rollouts table');
    const focused = () => page.evaluate(() => {
      const element = document.activeElement;
      const style = getComputedStyle(element);
      return {tag: element.tagName, text: element.textContent.trim(), id: element.id,
              href: element.getAttribute('href'), outline: style.outlineStyle,
              outlineWidth: parseFloat(style.outlineWidth)};
    });
    // Tab until the element matches; fails if it takes more than `limit` presses.
    async function tabTo(matches, limit = 40) {
      const path = [];
      for (let i = 0; i < limit; ++i) {
        await page.keyboard.press('Tab');
        const now = await focused();
        if (matches(now)) {
          return now;
        }
        path.push(now.id || now.href || now.tag);
      }
      assert.fail(`Tab never reached the element; it went ${path.join(' → ')}`);
    }
    const skip = await tabTo((f) => f.text === 'Skip to content', 2);
    assert.equal(skip.tag, 'A');
    const rolloutsLink = await tabTo((f) => f.href === '#/rollouts' && f.tag === 'A', 8);
    assert.notEqual(rolloutsLink.outline, 'none', 'focus is visible');
    assert.ok(rolloutsLink.outlineWidth >= 2);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#rollouts-table table');
    assert.equal((await focused()).tag, 'H1', 'a new page puts focus on its heading');
    const link = await tabTo((f) => f.href === `#/rollouts/${seed.rolloutId}`);
    assert.notEqual(link.outline, 'none');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#rollout-counts table');
    const pause = await tabTo((f) => f.id === 'pause');
    assert.equal(pause.tag, 'BUTTON');
    assert.notEqual(pause.outline, 'none');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'resume');
    assert.equal((await admin.get(`/api/v1/rollouts/${seed.rolloutId}`)).state, 'paused');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.activeElement?.id === 'pause');
    assert.equal((await admin.get(`/api/v1/rollouts/${seed.rolloutId}`)).state, 'active');
    const percent = await tabTo((f) => f.id === 'new-percent', 4);
    assert.equal(percent.tag, 'INPUT');
    const label = await page.textContent('label[for="new-percent"]');
    assert.equal(label, 'Percentage of devices');
  });

  test('every page at 1280 px and 390 px: no sideways scrolling, screenshots saved', async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({width, height: width > 500 ? 900 : 844});
      for (const spec of PAGES) {
        const hash = typeof spec.hash === 'function' ? spec.hash(seed) : spec.hash;
        await page.goto(`${server.url}/${hash}`);
        await page.waitForSelector(spec.ready);
        const overflow = await page.evaluate(() =>
          document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${spec.name} at ${width} px scrolls sideways by ${overflow} px`);
        // Every control has an accessible name; every table scrolls inside its own region.
        const unnamed = await page.$$eval('button, input, a[href]', (elements) => elements
            .filter((e) => !e.closest('[hidden]') && !(e.labels?.length || e.getAttribute('aria-label') ||
                                                      e.textContent.trim()))
            .map((e) => e.outerHTML));
        assert.deepEqual(unnamed, [], `${spec.name}: controls without a name`);
        const looseTables = await page.$$eval('table', (tables) =>
          tables.filter((t) => !t.parentElement.classList.contains('table-wrap')).length);
        assert.equal(looseTables, 0);
        assert.deepEqual(await page.evaluate(lowContrastText), [], `${spec.name}: text below 4.5:1`);
        await shot(`${spec.name}-${width}`);
      }
    }
    await page.setViewportSize({width: 1280, height: 900});
  });

  test('log out forgets the token', async () => {
    await page.goto(`${server.url}/#/releases`);
    await page.waitForSelector('#releases-table table');
    await page.click('#logout');
    await page.waitForSelector('form.login');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('aloft.adminToken')), null);
    assert.match(await page.textContent('#login-message'), /logged out/);
    await page.goto(`${server.url}/#/devices`);
    await page.waitForSelector('form.login');
  });

  test('no console error, CSP violation or uncaught exception on any page', () => {
    // Failed API calls the tests provoked (the wrong tokens) are logged by the browser as
    // failed resource loads; anything else is a problem.
    const unexpected = problems.filter((line) => !/status of 40[13]/.test(line));
    assert.deepEqual(unexpected, []);
  });
});
