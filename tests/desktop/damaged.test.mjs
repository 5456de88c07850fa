// The app over a state database SQLite finds damaged: it starts with a new, empty queue, and the
// damaged file is kept aside whole beside it (never replaced silently).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktop, invoke } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP = join(ROOT, 'target/debug/ferry-app');

let d;
before(async () => {
  d = await desktop('ferry-damaged-');
});
after(() => d?.stop());

test('a damaged queue is kept aside whole and the app starts with a new one', async () => {
  const junk = 'this is not a database, but it was the queue '.repeat(400);
  mkdirSync(d.stateDir, { recursive: true });
  writeFileSync(join(d.stateDir, 'ferry.db'), junk);

  const browser = await d.open(APP);
  assert.equal(await browser.getTitle(), 'Ferry');
  assert.deepEqual(await invoke(browser, 'list_transfers'), []);
  const kept = readdirSync(d.stateDir).filter((f) => f.startsWith('ferry.db.damaged-'));
  assert.equal(kept.length, 1, `kept aside: ${readdirSync(d.stateDir).join(', ')}`);
  assert.equal(readFileSync(join(d.stateDir, kept[0]), 'utf8'), junk);
  await browser.deleteSession();
});
