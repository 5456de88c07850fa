// Issue 16's start at login and failure notifications in the real app (WebKitGTK under Xvfb, through
// WebDriver), HOME and XDG_CONFIG_HOME in the test's own folder: the settings' switch writes and
// removes the XDG autostart entry (tauri-plugin-autostart) whose Exec line starts this app hidden; an
// entry that cannot be written is said in the dialog and nothing is saved; the app started that way
// shows no window and its watched folder uploads; an upload that fails while the window is closed
// gets a notification naming the file and the reason (read from the app's log: there is no
// notification daemon under Xvfb, and Ferry logs each notification it shows).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIB, desktop, invoke, waitFor } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = join(ROOT, 'target/debug/ferry-app');

let d;
before(async () => {
  assert.ok(existsSync(APP), `build the app first (make app): ${APP}`);
  d = await desktop('ferry-login-');
  d.env.XDG_CONFIG_HOME = join(d.work, '.config');
});
after(() => d?.stop());

const autostartDir = () => join(d.work, '.config/autostart');
const entry = () => join(autostartDir(), 'Ferry.desktop');
const onServer = (key) => join(d.stateDir, 'local/data/ferry', key);
/** What the app wrote to its log files so far. */
const log = () => {
  const dir = join(d.stateDir, 'logs');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('') : '';
};
/** Whether this build of the app still runs (a WebDriver session's app, or one started here). */
const appRunning = () => {
  try {
    execFileSync('pgrep', ['-f', `^${APP}`]);
    return true;
  } catch {
    return false;
  }
};

async function setSettings(browser, patch) {
  const current = await invoke(browser, 'get_settings');
  return invoke(browser, 'set_settings', { settings: { ...current, ...patch } });
}

async function settingsDialog(browser) {
  await (await browser.$('[data-testid="settings-button"]')).click();
  await (await browser.$('[data-testid="settings-dialog"]')).waitForDisplayed();
  return browser.$('[data-testid="setting-start-at-login"]');
}

async function saveSettings(browser) {
  await (await browser.$('[data-testid="settings-save"]')).click();
  await waitFor('the dialog closed', async () => !(await (await browser.$('[data-testid="settings-dialog"]')).isDisplayed()));
}

test('the settings switch writes the login entry that starts Ferry hidden, removes it, and says why it cannot', async () => {
  const browser = await d.open(APP);
  assert.equal((await invoke(browser, 'get_settings')).startAtLogin, false, 'off by default');
  assert.ok(!existsSync(entry()));

  let toggle = await settingsDialog(browser);
  assert.equal(await toggle.isSelected(), false);
  await toggle.click();
  await saveSettings(browser);
  await waitFor('the autostart entry', () => existsSync(entry()));
  const text = readFileSync(entry(), 'utf8');
  assert.match(text, /^\[Desktop Entry\]$/m);
  assert.match(text, /^Type=Application$/m);
  const exec = text.match(/^Exec=(.*)$/m)?.[1];
  assert.equal(exec, `${APP} --hidden`, 'the entry starts this app, hidden in the tray');
  assert.equal((await invoke(browser, 'get_settings')).startAtLogin, true);

  toggle = await settingsDialog(browser);
  assert.equal(await toggle.isSelected(), true, 'the dialog shows the entry is there');
  await toggle.click();
  await saveSettings(browser);
  await waitFor('the autostart entry removed', () => !existsSync(entry()));
  assert.equal((await invoke(browser, 'get_settings')).startAtLogin, false);

  // A file where the autostart folder should be: the entry cannot be written.
  rmSync(autostartDir(), { recursive: true, force: true });
  writeFileSync(autostartDir(), 'not a folder');
  toggle = await settingsDialog(browser);
  await toggle.click();
  await (await browser.$('[data-testid="settings-save"]')).click();
  const error = await browser.$('[data-testid="settings-error"]');
  await error.waitForDisplayed();
  const said = await error.getText();
  assert.match(said, /Ferry could not add itself to the programs started at login/);
  assert.match(said, /~\/\.config\/autostart/);
  assert.equal((await invoke(browser, 'get_settings')).startAtLogin, false, 'nothing saved');
  await (await browser.$('[data-testid="settings-cancel"]')).click();
  rmSync(autostartDir(), { force: true });
  await browser.deleteSession();
  await waitFor('the app closed', () => !appRunning());
});

test('an upload that fails while the window is closed gets a notification naming the file and the reason', async () => {
  const file = join(d.work, 'changes.bin');
  writeFileSync(file, randomBytes(24 * MIB));
  const browser = await d.open(APP);
  await setSettings(browser, { bandwidthLimitMibps: 2 });
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [file] });
  await waitFor('the upload mid-way', async () => {
    const t = (await invoke(browser, 'list_transfers')).find((t) => t.key === 'changes.bin');
    return t?.state === 'running' && t.bytesDone > MIB;
  });
  // The window closes to the tray (an upload runs), then the file changes under its upload.
  await invoke(browser, 'plugin:window|close', { label: 'main' });
  appendFileSync(file, randomBytes(4096));
  const failed = await waitFor('the upload failed', async () => {
    const t = (await invoke(browser, 'list_transfers')).find((t) => t.key === 'changes.bin');
    return t?.state === 'failed' && t;
  });
  const line = await waitFor('the notification in the log', () => log().split('\n').find((l) => l.includes('Upload failed: changes.bin')));
  assert.ok(line.includes(failed.error.message), `the reason in words: ${line}`);
  assert.ok(!existsSync(onServer('changes.bin')), 'nothing stitched together on the server');

  await setSettings(browser, { bandwidthLimitMibps: null });
  await invoke(browser, 'clear_finished');
  // Quit through the app's exit (the tray's Quit): the window is closed already.
  await browser.deleteSession();
  await waitFor('the app closed', () => !appRunning());
});

test('started by the login entry, Ferry shows no window and its watched folder uploads', async () => {
  const watched = join(d.work, 'watched');
  mkdirSync(watched, { recursive: true });
  let browser = await d.open(APP);
  await invoke(browser, 'add_watched', {
    folder: { path: watched, account: 'local', bucket: 'ferry', prefix: 'watched/', ignore: [], mirrorDeletes: false },
  });
  await browser.deleteSession();
  await waitFor('the app closed', () => !appRunning());

  // What the login entry's Exec line runs.
  const app = d.start(APP, ['--hidden']);
  await waitFor('started hidden', () => log().includes('started at login: hidden in the tray'));
  const note = join(watched, 'after reboot.txt');
  const bytes = randomBytes(64 * 1024);
  writeFileSync(note, bytes);
  await waitFor('the watched file uploaded', () => existsSync(onServer('watched/after reboot.txt')));
  await waitFor('the whole file', () => readFileSync(onServer('watched/after reboot.txt')).equals(bytes));
  // No window of Ferry's is on screen.
  let windows = '';
  try {
    windows = execFileSync('xwininfo', ['-display', d.env.DISPLAY, '-name', 'Ferry'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    windows = 'no window named Ferry';
  }
  assert.ok(!windows.includes('IsViewable'), windows);
  app.kill('SIGTERM');
  await app.exited;
});
