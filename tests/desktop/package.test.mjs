// The Debian package that `make package` builds (here its debug twin from `make package-debug`): what
// it holds, what it declares, and that the app and the CLI taken out of it start and answer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktop, invoke, waitFor } from './support.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEBS = join(ROOT, 'target/debug/bundle/deb');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'src-tauri/tauri.conf.json'), 'utf8')).version;
const DEB = join(DEBS, `ferry_${VERSION}_amd64.deb`);

let d;
before(async () => {
  assert.ok(existsSync(DEB), `build the package first (make package-debug): ${DEB} (found: ${existsSync(DEBS) ? readdirSync(DEBS) : 'nothing'})`);
  d = await desktop('ferry-package-');
});
after(() => d?.stop());

const dpkgDeb = (...args) => execFileSync('dpkg-deb', args, { encoding: 'utf8' });

test('the package holds the app, the CLI on the PATH, the desktop entry and the icons', () => {
  const files = dpkgDeb('-c', DEB)
    .split('\n')
    .filter(Boolean)
    .map((line) => '/' + line.split(/\s+/).slice(5).join(' ').replace(/^\.?\//, ''));
  for (const f of ['/usr/bin/ferry-app', '/usr/bin/ferry', '/usr/share/applications/Ferry.desktop']) {
    assert.ok(files.includes(f), `${f} is not in the package: ${files.join(', ')}`);
  }
  const icons = files.filter((f) => /^\/usr\/share\/icons\/hicolor\/[^/]+\/apps\/ferry-app\.png$/.test(f));
  assert.ok(icons.length >= 3, `icons: ${icons.join(', ')}`);
});

test('the package says what it is and what it depends on', () => {
  assert.equal(dpkgDeb('-f', DEB, 'Package').trim(), 'ferry');
  assert.equal(dpkgDeb('-f', DEB, 'Version').trim(), VERSION);
  assert.equal(dpkgDeb('-f', DEB, 'Architecture').trim(), 'amd64');
  const depends = dpkgDeb('-f', DEB, 'Depends').split(',').map((s) => s.trim());
  for (const dep of ['libwebkit2gtk-4.1-0', 'libgtk-3-0', 'libayatana-appindicator3-1']) {
    assert.ok(depends.some((x) => x.startsWith(dep)), `Depends: ${depends.join(', ')}`);
  }
});

test('the CLI and the app taken out of the package start and answer', async () => {
  const root = join(d.work, 'root');
  dpkgDeb('-x', DEB, root);

  const version = execFileSync(join(root, 'usr/bin/ferry'), ['--version'], { encoding: 'utf8', env: d.env });
  assert.equal(version.trim(), `ferry ${VERSION}`);

  const entry = readFileSync(join(root, 'usr/share/applications/Ferry.desktop'), 'utf8');
  // Files opened with Ferry from a file manager reach it (%F), any kind of file (MimeType).
  assert.match(entry, /^Exec=ferry-app %F$/m);
  assert.match(entry, /^MimeType=application\/octet-stream;$/m);
  assert.match(entry, /^Icon=ferry-app$/m);
  assert.match(entry, /^Name=Ferry$/m);

  const browser = await d.open(join(root, 'usr/bin/ferry-app'));
  assert.equal(await browser.getTitle(), 'Ferry');
  // Its embedded endpoint serves the built-in account's bucket.
  assert.deepEqual(await invoke(browser, 'list_buckets', { account: 'local' }), ['ferry']);
  await waitFor('the sidebar lists the local account', () =>
    browser.execute(() => document.body.textContent.includes('local')),
  );
  await browser.deleteSession();
});
