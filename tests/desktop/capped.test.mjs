// The real Ferry app under Xvfb (WebDriver), uploading under a bandwidth cap: a pause and a quit keep
// what was sent. Run by `make test` (`npm --prefix tests/desktop test`), after `make app`.
//
// The bytes are counted on the server's side: the embedded endpoint is served by `ferry serve-local`
// on the same state folder behind a counting proxy on the app's local port, so the app (which uses
// an endpoint already served on its port) sends every request through the proxy. The endpoint and
// the proxy outlive the app's quit and restart, so the count covers both runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countingProxy, desktop, freePort, invoke, waitFor, MIB } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = join(ROOT, 'target/debug/ferry-app');
const CLI = join(ROOT, 'target/debug/ferry');

let d;
let proxy;

/** Whether something accepts connections on `port`. */
function listening(port) {
  return new Promise((res) => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

before(async () => {
  assert.ok(existsSync(APP), `build the app first (make app): ${APP}`);
  d = await desktop('ferry-capped-');
  const endpointPort = await freePort();
  const endpoint = d.start(CLI, ['serve-local'], { FERRY_LOCAL_PORT: String(endpointPort) });
  await waitFor(`ferry serve-local (${endpoint.log()})`, () => listening(endpointPort));
  proxy = await countingProxy(Number(d.env.FERRY_LOCAL_PORT), endpointPort);
});

after(() => {
  proxy?.close();
  d?.stop();
});

async function transfer(browser, name) {
  return (await invoke(browser, 'list_transfers')).find((t) => t.key.endsWith(name));
}

/** The row's figures as the window shows them: its bytes done, and the number its text starts with. */
function shown(browser, name) {
  return browser.execute((name) => {
    const r = [...document.querySelectorAll('[data-testid="transfer-row"]')].find(
      (r) => r.querySelector('[data-testid="transfer-name"]')?.textContent?.trim() === name,
    );
    if (!r) return null;
    return { state: r.dataset.state, done: Number(r.dataset.bytesDone), text: r.querySelector('.amount')?.textContent?.trim() ?? '' };
  }, name);
}

/** "12.0 MiB of 60.0 MiB …" → bytes of the first figure. */
function bytesOfText(text) {
  const m = /^([\d.,]+)\s*(B|KiB|MiB|GiB)\b/.exec(text);
  assert.ok(m, `no figure in "${text}"`);
  return Number(m[1].replace(/,/g, '')) * { B: 1, KiB: 1024, MiB: MIB, GiB: 1024 * MIB }[m[2]];
}

test('under a 3 MiB/s cap, a pause keeps what the row showed and a quit mid-way re-sends at most a few seconds of the upload', async (tc) => {
  const size = 60 * MIB;
  const file = join(d.work, 'capped.bin');
  writeFileSync(file, randomBytes(size));

  let browser = await d.open(APP);
  const current = await invoke(browser, 'get_settings');
  await invoke(browser, 'set_settings', { settings: { ...current, bandwidthLimitMibps: 3, keepInTray: false } });
  const before = proxy.bytesUp();
  await invoke(browser, 'upload_paths', { account: 'local', bucket: 'ferry', prefix: '', paths: [file] });
  const t = await waitFor('the upload listed', () => transfer(browser, 'capped.bin'));
  assert.ok(t.bytesTotal === size);

  // The row's figure, watched until the pause lands and after: it never goes back.
  await waitFor('10 MiB on the server', () => proxy.bytesUp() - before >= 10 * MIB);
  const seen = [];
  let last;
  for (let i = 0; i < 10; i++) {
    last = await shown(browser, 'capped.bin');
    seen.push(last.done);
  }
  assert.equal(last.state, 'running');
  // The lifecycle events the window gets: a pause says "paused" at once, and again when the run
  // has ended (its last parts committed or stopped).
  await browser.executeAsync((done) => {
    window.__stateEvents = [];
    const handler = window.__TAURI_INTERNALS__.transformCallback((e) => window.__stateEvents.push(e.payload));
    window.__TAURI_INTERNALS__.invoke('plugin:event|listen', { event: 'transfer://state', target: { kind: 'Any' }, handler }).then(() => done(), () => done());
  });
  await (await (await browser.$('[data-testid="transfer-row"]*=capped.bin')).$('[data-testid="transfer-pause"]')).click();
  await waitFor('paused on screen', async () => {
    last = await shown(browser, 'capped.bin');
    seen.push(last.done);
    return last.state === 'paused';
  });
  // Parts let finish by the pause's grace are committed until the run ends; the row follows.
  await waitFor('the run ended', async () => {
    seen.push((await shown(browser, 'capped.bin')).done);
    const events = await browser.execute(() => window.__stateEvents);
    return events.filter((e) => e.id === t.id && e.state === 'paused').length >= 2;
  });
  const kept = (await transfer(browser, 'capped.bin')).bytesDone;
  await waitFor('the row showing what the queue keeps', async () => {
    seen.push((await shown(browser, 'capped.bin')).done);
    return seen.at(-1) === kept;
  });
  const paused = await shown(browser, 'capped.bin');
  seen.push(paused.done);
  assert.ok(
    seen.every((v, i) => i === 0 || v >= seen[i - 1]),
    `the row's bytes went backwards: ${seen.join(' → ')}`,
  );
  assert.ok(paused.done > 0, 'the pause kept what was sent');
  assert.ok(bytesOfText(paused.text) >= bytesOfText(last.text) - 0.05 * MIB, `${paused.text} after ${last.text}`);

  // Resume, and quit mid-way once the server has 20 MiB: the app's own quit (closing the window
  // with "keep in the tray" off goes through the same exit as the tray's Quit).
  await invoke(browser, 'resume_all');
  await waitFor('running again', async () => (await transfer(browser, 'capped.bin'))?.state === 'running');
  await waitFor('20 MiB on the server', () => proxy.bytesUp() - before >= 20 * MIB);
  await invoke(browser, 'plugin:window|close', { label: 'main' }).catch(() => {});
  await waitFor('Ferry gone', () => invoke(browser, 'list_transfers').then(() => false, () => true));
  await browser.deleteSession().catch(() => {});

  // Start again: it continues from the parts kept and finishes (the cap lifted to save time).
  browser = await d.open(APP);
  const restarted = await invoke(browser, 'get_settings');
  await invoke(browser, 'set_settings', { settings: { ...restarted, bandwidthLimitMibps: null, keepInTray: true } });
  await waitFor('the upload done after the restart', async () => (await transfer(browser, 'capped.bin'))?.state === 'completed');
  assert.deepEqual(readFileSync(join(d.stateDir, 'local/data/ferry/capped.bin')), readFileSync(file));

  // Counted on the server's side: all the bytes the server received for the upload (request heads
  // and listings included) beyond the file itself. Under the cap at most two 6 MiB parts are in
  // flight (4 s of 3 MiB/s), so the pause and the quit together re-send at most a few seconds' worth.
  const extra = proxy.bytesUp() - before - size;
  tc.diagnostic(`the pause kept ${paused.done} bytes; the server received ${extra} bytes beyond the file (${(extra / MIB).toFixed(2)} MiB)`);
  assert.ok(extra <= 2 * 6 * MIB + MIB, `the server received ${extra} bytes beyond the file's ${size}`);
  await browser.deleteSession();
});
