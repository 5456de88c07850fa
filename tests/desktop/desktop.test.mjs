// The real Ferry app under Xvfb, driven through WebDriver (tauri-driver + WebKitWebDriver), against
// its embedded S3 endpoint. Run by `make test` (`npm --prefix tests/desktop test`), after `make app`.
//
// A real OS file drop cannot be sent through WebDriver, so "dropping" calls the command the window's
// drop handler calls (`upload_paths`); the drop overlay and handler are covered by the browser tests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktop, invoke, waitFor, MIB } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = join(ROOT, 'target/debug/ferry-app');
const SHOTS = join(ROOT, 'docs/screenshots');

let d;
let work;
const openApp = () => d.open(APP);

/** The transfers as the window shows them. */
function rows(browser) {
  return browser.execute(() =>
    [...document.querySelectorAll('[data-testid="transfer-row"]')].map((r) => ({
      id: r.dataset.id,
      state: r.dataset.state,
      done: Number(r.dataset.bytesDone),
      name: r.querySelector('[data-testid="transfer-name"]')?.textContent?.trim(),
    })),
  );
}

async function row(browser, name) {
  return (await rows(browser)).find((r) => r.name === name);
}

async function clickInRow(browser, name, testid) {
  const el = await browser.$(`[data-testid="transfer-row"]*=${name}`);
  await el.$(`[data-testid="${testid}"]`).click();
}

async function setSettings(browser, patch) {
  const current = await invoke(browser, 'get_settings');
  return invoke(browser, 'set_settings', { settings: { ...current, ...patch } });
}

function objectOnServer(key) {
  return readFileSync(join(d.stateDir, 'local/data/ferry', key));
}

before(async () => {
  assert.ok(existsSync(APP), `build the app first (make app): ${APP}`);
  mkdirSync(SHOTS, { recursive: true });
  d = await desktop('ferry-desktop-');
  work = d.work;
});

after(() => d?.stop());

test('drop, pause, resume, share, quit mid-transfer and finish after a restart', async () => {
  const small = join(work, 'notes.txt');
  const large = join(work, 'footage.bin');
  const later = join(work, 'archive.bin');
  writeFileSync(small, randomBytes(300 * 1024));
  writeFileSync(large, randomBytes(40 * MIB));
  writeFileSync(later, randomBytes(24 * MIB));

  let browser = await openApp();
  // Slow enough to see a large file mid-way: 4 MiB/s.
  await setSettings(browser, { bandwidthLimitMibps: 4 });

  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [small, large] });
  await waitFor('both files listed', async () => (await rows(browser)).length === 2);
  await waitFor('the small file done', async () => (await row(browser, 'notes.txt'))?.state === 'completed');
  await waitFor('the large file mid-way', async () => {
    const r = await row(browser, 'footage.bin');
    return r?.state === 'running' && r.done > 4 * MIB;
  });

  await clickInRow(browser, 'footage.bin', 'transfer-pause');
  await waitFor('paused', async () => (await row(browser, 'footage.bin'))?.state === 'paused');
  const pausedAt = (await row(browser, 'footage.bin')).done;
  assert.ok(pausedAt > 0 && pausedAt < 40 * MIB, `paused at ${pausedAt}`);

  await clickInRow(browser, 'footage.bin', 'transfer-resume');
  await waitFor('running again', async () => (await row(browser, 'footage.bin'))?.state === 'running');
  await waitFor('progress past the pause point', async () => (await row(browser, 'footage.bin')).done > pausedAt);
  await browser.saveScreenshot(join(SHOTS, 'app-light.png'));
  await browser.execute(() => document.documentElement.setAttribute('data-theme', 'dark'));
  await browser.saveScreenshot(join(SHOTS, 'app-dark.png'));
  await browser.execute(() => document.documentElement.setAttribute('data-theme', 'light'));

  await setSettings(browser, { bandwidthLimitMibps: null });
  await waitFor('the large file done', async () => (await row(browser, 'footage.bin'))?.state === 'completed');
  assert.deepEqual(objectOnServer('footage.bin'), readFileSync(large));
  assert.deepEqual(objectOnServer('notes.txt'), readFileSync(small));

  // Copy its share link from the transfers panel; the window says when it really expires.
  await clickInRow(browser, 'footage.bin', 'transfer-copy-link');
  await (await browser.$('[data-testid="link-create"]')).click();
  const copied = await browser.$('[data-testid="link-copied"]');
  await copied.waitForDisplayed({ timeout: 30_000 });
  assert.match(await copied.getText(), /expires/i);
  const url = (await (await browser.$('[data-testid="link-url"]')).getValue()).trim();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ferry\/footage\.bin\?/);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(large));

  // Quit mid-transfer…
  await setSettings(browser, { bandwidthLimitMibps: 4 });
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: 'later/', paths: [later] });
  await waitFor('the third file mid-way', async () => {
    const r = await row(browser, 'archive.bin');
    return r?.state === 'running' && r.done > 2 * MIB;
  });
  await browser.deleteSession();

  // …start again: the queue is restored and the transfer finishes where it stopped.
  browser = await openApp();
  await waitFor('the third file listed again', async () => !!(await row(browser, 'archive.bin')));
  await setSettings(browser, { bandwidthLimitMibps: null });
  await waitFor('the third file done after the restart', async () => (await row(browser, 'archive.bin'))?.state === 'completed');
  assert.deepEqual(objectOnServer('later/archive.bin'), readFileSync(later));
  await browser.deleteSession();
});

test('renames an object through the window: the server copies it, the transfers panel shows the copy', async () => {
  const file = join(work, 'draft-notes.txt');
  writeFileSync(file, randomBytes(64 * 1024));
  const browser = await openApp();
  // The window has listed the queue (the earlier tests left transfers in it) before this one joins.
  await waitFor('the queue listed', async () => (await rows(browser)).length > 0);
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [file] });
  await waitFor('the upload done on the engine', async () =>
    (await invoke(browser, 'list_transfers')).some((t) => t.key === 'draft-notes.txt' && t.state === 'completed'),
  );
  const objectRow = (key) => browser.$(`[data-testid="object-row"][data-key="${key}"]`);
  await waitFor('the object listed', async () => {
    if (await (await objectRow('draft-notes.txt')).isExisting()) return true;
    await (await browser.$('[data-testid="refresh"]')).click();
    return false;
  });
  await (await objectRow('draft-notes.txt')).moveTo();
  await (await (await objectRow('draft-notes.txt')).$('[data-testid="rename"]')).click();
  const input = await browser.$('[data-testid="relocate-input"]');
  await input.waitForDisplayed({ timeout: 30_000 });
  await input.setValue('final-notes.txt');
  await (await browser.$('[data-testid="relocate-submit"]')).click();
  await waitFor('the new name listed', async () => (await objectRow('final-notes.txt')).isExisting());
  await waitFor('the old name gone', async () => !(await (await objectRow('draft-notes.txt')).isExisting()));
  assert.deepEqual(objectOnServer('final-notes.txt'), readFileSync(file));
  assert.ok(!existsSync(join(d.stateDir, 'local/data/ferry/draft-notes.txt')), 'moved: the source is gone');
  const copy = (await invoke(browser, 'list_transfers')).find((t) => t.direction === 'copy' && t.key === 'final-notes.txt');
  assert.equal(copy?.state, 'completed');
  assert.equal(copy.localPath, 's3://ferry/draft-notes.txt');
  await waitFor('the copy in the transfers panel', async () => (await row(browser, 'final-notes.txt'))?.state === 'completed');
  await browser.deleteSession();
});

/** Bytes of multipart uploads that have reached the embedded server: parts stored and parts arriving. */
function partBytesOnServer() {
  const root = join(d.stateDir, 'local/data');
  return readdirSync(root)
    .filter((f) => f.startsWith('.upload_id-') || (f.startsWith('.tmp.') && f.endsWith('.internal.part')))
    .reduce((sum, f) => {
      try {
        return sum + statSync(join(root, f)).size;
      } catch {
        return sum; // renamed or removed between the listing and the stat
      }
    }, 0);
}

async function transfer(browser, name) {
  return (await invoke(browser, 'list_transfers')).find((t) => t.key.endsWith(name));
}

// The tray's menu cannot be clicked through WebDriver: its Pause all and Resume all call the same
// functions as the `pause_all` and `resume_all` commands the test calls here (the menu's ids and
// actions are unit-tested in src-tauri/src/tray.rs).
test('closing the window keeps Ferry and its upload going; Pause all pauses it; a second launch hands over its file and exits', async () => {
  const big = join(work, 'tray.bin');
  const second = join(work, 'second launch.txt');
  writeFileSync(big, randomBytes(48 * MIB));
  writeFileSync(second, randomBytes(200 * 1024));

  const browser = await openApp();
  const settings = await setSettings(browser, { bandwidthLimitMibps: 4 });
  assert.equal(settings.keepInTray, true, 'keeping Ferry in the tray is the default');
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: 'tray/', paths: [big] });
  await waitFor('the upload mid-way', async () => {
    const t = await transfer(browser, 'tray.bin');
    return t?.state === 'running' && t.bytesDone > 2 * MIB;
  });

  // The window's close button (the request the title bar's × makes).
  await invoke(browser, 'plugin:window|close', { label: 'main' });
  const atClose = partBytesOnServer();
  await waitFor('bytes still arriving on the server after the window closed', () => partBytesOnServer() > atClose + 4 * MIB);
  assert.equal((await transfer(browser, 'tray.bin')).state, 'running');

  await invoke(browser, 'pause_all');
  await waitFor('paused', async () => (await transfer(browser, 'tray.bin'))?.state === 'paused');

  // A second launch with a file: it hands the file to this Ferry and exits; the file goes to the
  // folder on screen (the `ferry` bucket's top, opened on start).
  const launch = d.start(APP, [second]);
  const { code } = await launch.exited;
  assert.equal(code, 0, launch.log());
  await waitFor('the second launch\'s file uploaded by the first Ferry', async () => (await transfer(browser, 'second launch.txt'))?.state === 'completed');
  assert.deepEqual(objectOnServer('second launch.txt'), readFileSync(second));
  assert.equal((await transfer(browser, 'tray.bin')).state, 'paused', 'the second launch touched the paused upload');

  await setSettings(browser, { bandwidthLimitMibps: null });
  await invoke(browser, 'resume_all');
  await waitFor('the upload done', async () => (await transfer(browser, 'tray.bin'))?.state === 'completed');
  assert.deepEqual(objectOnServer('tray/tray.bin'), readFileSync(big));
  await browser.deleteSession();
});

test('with "keep in the tray" off, closing the window quits cleanly and the upload continues at the next start', async () => {
  const file = join(work, 'quits.bin');
  writeFileSync(file, randomBytes(24 * MIB));
  let browser = await openApp();
  await setSettings(browser, { bandwidthLimitMibps: 4, keepInTray: false });
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [file] });
  await waitFor('the upload mid-way', async () => {
    const t = await transfer(browser, 'quits.bin');
    return t?.state === 'running' && t.bytesDone > 2 * MIB;
  });
  // Closing quits through the app's exit, as the tray's Quit does: the engine stops the transfer.
  await invoke(browser, 'plugin:window|close', { label: 'main' }).catch(() => {});
  await waitFor('Ferry gone', () => invoke(browser, 'list_transfers').then(() => false, () => true));
  await browser.deleteSession().catch(() => {});

  browser = await openApp();
  await setSettings(browser, { bandwidthLimitMibps: null, keepInTray: true });
  await waitFor('the upload done after the restart', async () => (await transfer(browser, 'quits.bin'))?.state === 'completed');
  assert.deepEqual(objectOnServer('quits.bin'), readFileSync(file));
  await browser.deleteSession();
});
