// The keyboard and Ferry's own context menu in the real app (WebKitGTK under Xvfb, through WebDriver),
// against its embedded S3 endpoint: the webview's menu is cancelled, right-click opens Ferry's, the
// object list moves with arrows, F2 renames in place on the server, and a delete confirmation answers
// Enter with Cancel. Run by `make test` after `make app`, like desktop.test.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktop, invoke, waitFor } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = join(ROOT, 'target/debug/ferry-app');

let d;
before(async () => {
  assert.ok(existsSync(APP), `build the app first (make app): ${APP}`);
  d = await desktop('ferry-keys-');
});
after(() => d?.stop());

const onServer = (key) => join(d.stateDir, 'local/data/ferry', key);
const focused = (browser) => browser.execute(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
const activeKey = (browser) => browser.execute(() => document.querySelector('[data-testid="browser-rows"] [data-active="true"] [data-key]')?.getAttribute('data-key'));

test('right-click is Ferry\'s, arrows move, F2 renames on the server, Delete asks with Cancel first', async () => {
  const a = join(d.work, 'alpha.txt');
  const b = join(d.work, 'bravo.txt');
  writeFileSync(a, randomBytes(4096));
  writeFileSync(b, randomBytes(2048));
  const browser = await d.open(APP);
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [a, b] });
  await waitFor('both uploaded', () => existsSync(onServer('alpha.txt')) && existsSync(onServer('bravo.txt')));
  await browser.$('[data-testid="refresh"]').click();
  await waitFor('both listed', () => browser.execute(() => document.querySelectorAll('[data-testid="object-row"]').length === 2));

  // WebKit's own menu (Back, Forward, Reload) is cancelled wherever the right-click lands.
  const cancelled = await browser.execute(() =>
    ['aside', '[data-testid="transfers-panel"]', '[data-testid="object-row"]', '[data-testid="filter"]'].map(
      (sel) => !document.querySelector(sel)?.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true })),
    ),
  );
  assert.deepEqual(cancelled, [true, true, true, true]);
  // A real right-click on a row opens Ferry's menu for it.
  await browser.$('[data-testid="object-row"][data-key="bravo.txt"]').click({ button: 'right' });
  await waitFor('Ferry\'s menu', () => browser.execute(() => document.querySelector('[data-testid="context-menu"]')?.getAttribute('aria-label')));
  assert.equal(await browser.execute(() => document.querySelector('[data-testid="context-menu"]')?.getAttribute('aria-label')), 'Actions for bravo.txt');
  await browser.keys(['Escape']);
  await waitFor('the menu closed, the list focused', async () => !(await browser.$('[data-testid="context-menu"]').isExisting()) && (await focused(browser)) === 'browser-rows');

  // Arrows move the current row; F2 renames it in place, on the server.
  await browser.keys(['Home']);
  assert.equal(await activeKey(browser), 'alpha.txt');
  await browser.keys(['ArrowDown']);
  assert.equal(await activeKey(browser), 'bravo.txt');
  const bytes = readFileSync(onServer('bravo.txt'));
  await browser.keys(['F2']);
  await waitFor('the field in the row', async () => (await focused(browser)) === 'rename-field');
  await browser.keys(['c', 'h', 'a', 'r', 'l', 'i', 'e', 'Enter']);
  await waitFor('renamed on the server', () => existsSync(onServer('charlie.txt')) && !existsSync(onServer('bravo.txt')));
  assert.deepEqual(readFileSync(onServer('charlie.txt')), bytes);
  await waitFor('the list has the focus on the renamed row', async () => (await focused(browser)) === 'browser-rows' && (await activeKey(browser)) === 'charlie.txt');

  // Delete asks, starting on Cancel: Enter keeps the object.
  await browser.keys(['Delete']);
  await waitFor('the confirmation on Cancel', async () => (await focused(browser)) === 'confirm-cancel');
  await browser.keys(['Enter']);
  await waitFor('closed, the list focused', async () => (await focused(browser)) === 'browser-rows');
  assert.ok(existsSync(onServer('charlie.txt')), 'Enter on the confirmation deleted nothing');
  await browser.deleteSession();
});
