// What the browser tests share: Chromium launched once per test file, a fresh window on the app (a new
// mock backend each time) that fails the test on any console error or CSP violation, and small finders.
// Every wait is for a condition (Playwright's auto-waiting or waitForFunction), never for a duration.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

if (!process.env.FERRY_URL) throw new Error('FERRY_URL is not set: run the browser tests with `npm run test:browser`');
export const APP_URL = process.env.FERRY_URL;
export const MIB = 1024 * 1024;
export const WAIT = { timeout: 20_000 };

/** @type {import('playwright-core').Browser} */
let browser;

/** Launches Chromium before the file's tests and closes it after them. */
export function useBrowser() {
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic',
      ],
    });
  });
  after(async () => {
    await browser?.close();
  });
}

/**
 * A fresh window on the app (a new mock backend each time), with its console errors collected.
 * @param {{ colorScheme?: 'light' | 'dark' }} [opts]
 */
export async function openApp(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: opts.colorScheme ?? 'light' });
  const page = await context.newPage();
  /** @type {string[]} */
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(APP_URL);
  await page.locator('[data-testid="app"][data-ready="true"]').waitFor(WAIT);
  await page.getByTestId('object-row').first().waitFor(WAIT);
  return {
    page,
    errors,
    async close() {
      assert.deepEqual(errors, [], 'no console errors or CSP violations');
      await context.close();
    },
  };
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export function transferRow(page, name) {
  return page.getByTestId('transfer-row').filter({ has: page.getByTestId('transfer-name').getByText(name, { exact: true }) });
}

/**
 * Opens the ferry bucket's photos/ folder.
 * @param {import('playwright-core').Page} page
 */
export async function openPhotos(page) {
  await page.locator('[data-testid="prefix-row"][data-key="photos/"]').getByTestId('open-prefix').click();
  await page.getByTestId('breadcrumb').filter({ hasText: 'photos' }).waitFor(WAIT);
}

/** @param {import('playwright-core').Locator} row */
export async function bytesDone(row) {
  return Number(await row.getAttribute('data-bytes-done'));
}

/**
 * Drops local files of the given sizes (MiB) on the window, with the mock moving `mibPerSec` so they
 * stay running for a while; resolves once each has its transfer row.
 * @param {import('playwright-core').Page} page
 * @param {Record<string, number>} files path → size in MiB
 * @param {number} mibPerSec
 */
export async function dropFiles(page, files, mibPerSec) {
  await page.evaluate(
    ([files, speed, mib]) => {
      const m = window.__ferryMock;
      m.setSpeed(speed * mib);
      for (const [path, size] of Object.entries(files)) m.addLocalFile(path, size * mib);
      void m.dropFiles(Object.keys(files), { holdMs: 0 });
    },
    /** @type {const} */ ([files, mibPerSec, MIB]),
  );
  for (const path of Object.keys(files)) await transferRow(page, path.replace(/^.*\//, '')).waitFor(WAIT);
}

/**
 * Drops a small local file whose upload the mock fails half-way with `message`; resolves once its row
 * shows it failed.
 * @param {import('playwright-core').Page} page
 * @param {string} path
 * @param {string} message
 */
export async function failUpload(page, path, message) {
  await page.evaluate(
    ([path, message]) => {
      const m = window.__ferryMock;
      m.addLocalFile(path, 1024);
      m.failNext('access_denied', message);
      void m.dropFiles([path], { holdMs: 0 });
    },
    [path, message],
  );
  await transferRow(page, path.replace(/^.*\//, '')).and(page.locator('[data-state="failed"]')).waitFor(WAIT);
}
