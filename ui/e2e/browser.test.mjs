// The UI in headless Chromium against the mock backend (window.__ferryMock), served by run.mjs.
// Every wait is for a condition (Playwright's auto-waiting or waitForFunction), never for a duration.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MIB, WAIT, bytesDone, openApp, openPhotos, transferRow, useBrowser } from './app.mjs';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');

useBrowser();

describe('Ferry in a browser', () => {
  it('opens the built-in local account on the ferry bucket, folders first', async () => {
    const app = await openApp();
    const { page } = app;
    await page.locator('[data-testid="bucket-item"][data-bucket="ferry"][aria-current="true"]').waitFor(WAIT);
    assert.equal(await page.getByTestId('breadcrumb').last().textContent(), 'ferry');
    const prefixes = await page.getByTestId('prefix-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    assert.deepEqual(prefixes, ['backups/', 'photos/']);
    const firstRow = await page.getByTestId('browser-rows').locator('[data-key]').first().getAttribute('data-testid');
    assert.equal(firstRow, 'prefix-row');
    const readme = page.locator('[data-testid="object-row"][data-key="README.txt"]');
    assert.match((await readme.textContent()) ?? '', /2\.1 KiB/);
    // Into a prefix and back with the breadcrumbs.
    await page.locator('[data-testid="prefix-row"][data-key="photos/"]').getByTestId('open-prefix').click();
    await page.locator('[data-testid="object-row"][data-key="photos/lighthouse.jpg"]').waitFor(WAIT);
    assert.deepEqual(await page.getByTestId('breadcrumb').allTextContents(), ['ferry', 'photos']);
    await page.locator('[data-testid="prefix-row"][data-key="photos/2025/"]').getByTestId('open-prefix').click();
    await page.locator('[data-testid="object-row"][data-key="photos/2025/ferry-deck.jpg"]').waitFor(WAIT);
    assert.deepEqual(await page.getByTestId('breadcrumb').allTextContents(), ['ferry', 'photos', '2025']);
    await page.getByTestId('go-up').click();
    await page.locator('[data-testid="object-row"][data-key="photos/lighthouse.jpg"]').waitFor(WAIT);
    await page.locator('[data-testid="breadcrumb"][data-prefix=""]').click();
    await readme.waitFor(WAIT);
    assert.equal(await page.getByTestId('go-up').count(), 0);
    await app.close();
  });

  it('streams a folder of a million objects: first rows at once, the end by scrolling, sorted, filtered, few rows in the DOM', async () => {
    const app = await openApp();
    const { page } = app;
    const cdp = await page.context().newCDPSession(page);
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return (await cdp.send('Runtime.getHeapUsage')).usedSize;
    };
    await page.evaluate(() => window.__ferryMock.addGeneratedFolder('local', 'ferry', 'million/', 1_000_000));
    await page.getByTestId('refresh').click();
    const before = await heap();
    // The mock answers two pages and holds the rest: the first rows show while the listing goes on.
    await page.evaluate(() => window.__ferryMock.holdPagesFrom(3));
    await page.locator('[data-testid="prefix-row"][data-key="million/"]').getByTestId('open-prefix').click();
    const list = page.getByTestId('browser-rows');
    await list.locator('[data-key="million/object-0000000.bin"]').waitFor(WAIT);
    const status = page.getByTestId('listing-status');
    await status.filter({ hasText: 'Loading more… 2,000 so far' }).waitFor(WAIT);
    assert.equal(await status.getAttribute('data-loading'), 'true');

    // Moving away cancels the listing: no page after the held one is delivered.
    await page.getByTestId('go-up').click();
    await page.locator('[data-testid="prefix-row"][data-key="million/"]').waitFor(WAIT);
    await page.evaluate(() => window.__ferryMock.releasePages());
    await page.waitForFunction(() => window.__ferryMock.listingStats.listingsCancelled === 1, null, WAIT);

    // Back in, the whole listing arrives.
    await page.locator('[data-testid="prefix-row"][data-key="million/"]').getByTestId('open-prefix').click();
    await status.filter({ hasText: /^1,000,000 objects$/ }).waitFor({ timeout: 180_000 });
    const perObject = ((await heap()) - before) / 1_000_000;
    assert.ok(perObject < 200, `the webview keeps ${perObject.toFixed(0)} bytes per object`);
    const inDom = () => page.locator('[data-testid="object-row"]').count();
    assert.ok((await inDom()) < 50, `only the visible window is in the DOM, not ${await inDom()} rows`);

    // Scrolling to the end shows the last object.
    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await list.locator('[data-key="million/object-0999999.bin"]').waitFor(WAIT);
    assert.ok((await inDom()) < 50);

    await list.evaluate((el) => el.scrollTo(0, 0));
    /** @returns {Promise<number[]>} */
    const sizes = () => list.locator('[data-testid="object-row"]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-size'))));
    // Sorting by size: largest first, then (clicked again) smallest first.
    await page.getByTestId('sort-size').click();
    await page.locator('[data-testid="sort-size"]').locator('.arrow', { hasText: '↓' }).waitFor(WAIT);
    const down = await sizes();
    assert.ok(down.length > 5 && down.every((s, i) => i === 0 || down[i - 1] >= s), `descending: ${down}`);
    assert.equal(down[0], 64 * MIB - 11, 'the largest of the million comes first');
    await page.getByTestId('sort-size').click();
    await page.locator('[data-testid="sort-size"]').locator('.arrow', { hasText: '↑' }).waitFor(WAIT);
    const up = await sizes();
    assert.ok(up.every((s, i) => i === 0 || up[i - 1] <= s), `ascending: ${up}`);
    assert.equal(up[0], 173, 'the smallest of the million comes first');

    // The filter keeps the matching names of the folder on screen.
    await page.getByTestId('filter').fill('object-099999');
    await status.filter({ hasText: '10 shown of 1,000,000 objects' }).waitFor(WAIT);
    await page.getByTestId('sort-name').click();
    const keys = await list.locator('[data-testid="object-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    assert.deepEqual(keys, Array.from({ length: 10 }, (_, i) => `million/object-099999${i}.bin`));
    await page.getByTestId('filter').fill('no such name');
    await page.getByTestId('browser-empty').filter({ hasText: 'Nothing here matches' }).waitFor(WAIT);
    await app.close();
  });

  it('searches every level below a folder by name, streaming matches with a running count, and stops when left', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => {
      const m = window.__ferryMock;
      m.addGeneratedFolder('local', 'ferry', 'archive/2024/', 5000);
      m.addGeneratedFolder('local', 'ferry', 'archive/2025/', 3000);
      m.holdPagesFrom(3);
    });
    await page.getByTestId('filter').fill('*-000012?.BIN');
    await page.getByTestId('filter').press('Enter');
    const status = page.getByTestId('listing-status');
    // The stored objects, then the first thousand of archive/2024/, then the gate.
    await status.filter({ hasText: 'Searching… 10 found in 1,007 objects below here' }).waitFor(WAIT);
    const list = page.getByTestId('browser-rows');
    await list.locator('[data-key="archive/2024/object-0000129.bin"]').waitFor(WAIT);
    assert.match((await page.getByTestId('search-chip').textContent()) ?? '', /Results for “\*-000012\?\.BIN”/);
    await page.evaluate(() => window.__ferryMock.releasePages());
    await status.filter({ hasText: /^20 found in 8,007 objects below here$/ }).waitFor(WAIT);
    const keys = await list.locator('[data-testid="object-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    const expected = ['2024', '2025'].flatMap((y) => Array.from({ length: 10 }, (_, i) => `archive/${y}/object-000012${i}.bin`));
    assert.deepEqual(keys, expected.slice(0, keys.length), 'in key order, both folders');
    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    const last = list.locator('[data-key="archive/2025/object-0000129.bin"]');
    await last.waitFor(WAIT);
    assert.equal(await last.locator('.label').textContent(), 'archive/2025/object-0000129.bin', 'shown by its path below the folder');

    // Back to the folder: its listing again. A search left while it runs asks for nothing more.
    await page.getByTestId('end-search').click();
    await page.locator('[data-testid="object-row"][data-key="README.txt"]').waitFor(WAIT);
    assert.equal(await page.getByTestId('search-chip').count(), 0);
    await page.evaluate(() => window.__ferryMock.holdPagesFrom(2));
    await page.getByTestId('filter').fill('object');
    await page.getByTestId('search-below').click();
    await page.getByTestId('search-chip').waitFor(WAIT);
    await page.getByTestId('end-search').click();
    await page.evaluate(() => window.__ferryMock.releasePages());
    await page.waitForFunction(() => window.__ferryMock.listingStats.listingsCancelled === 1, null, WAIT);
    await page.locator('[data-testid="object-row"][data-key="README.txt"]').waitFor(WAIT);
    await app.close();
  });

  it('shows the drop overlay during a drag, then queues both files and shows their progress', async () => {
    const app = await openApp();
    const { page } = app;
    await openPhotos(page);
    await page.evaluate((mib) => {
      const m = window.__ferryMock;
      m.setSpeed(8 * mib);
      m.addLocalFile('/home/you/Pictures/boat.jpg', 400 * mib);
      m.addLocalFile('/home/you/Pictures/quay.jpg', 400 * mib);
      void m.dropFiles(['/home/you/Pictures/boat.jpg', '/home/you/Pictures/quay.jpg'], { hold: true });
    }, MIB);
    const overlay = page.getByTestId('drop-overlay');
    await overlay.waitFor({ state: 'visible', ...WAIT });
    assert.match((await overlay.textContent()) ?? '', /Drop to upload to ferry\/photos\//);
    assert.match((await overlay.textContent()) ?? '', /2 items/);
    await page.evaluate(() => window.__ferryMock.finishDrop());
    await overlay.waitFor({ state: 'hidden', ...WAIT });
    for (const name of ['boat.jpg', 'quay.jpg']) {
      const row = transferRow(page, name);
      await row.waitFor(WAIT);
      await page.waitForFunction((el) => Number(el?.getAttribute('data-bytes-done')) > 0, await row.elementHandle(), WAIT);
      assert.match((await row.getByTestId('transfer-speed').textContent()) ?? '', /MiB\/s/);
      assert.match((await row.getByTestId('transfer-eta').textContent()) ?? '', /left/);
      assert.match((await row.getByTestId('transfer-state').textContent()) ?? '', /Uploading/);
      assert.match((await row.textContent()) ?? '', /to ferry\/photos\//);
    }
    await app.close();
  });

  it('uploads files opened with Ferry from outside (a second launch) into the folder on screen', async () => {
    const app = await openApp();
    const { page } = app;
    await openPhotos(page);
    await page.evaluate((mib) => {
      const m = window.__ferryMock;
      m.addLocalFile('/home/you/Downloads/opened.pdf', mib);
      m.openFiles(['/home/you/Downloads/opened.pdf']);
    }, MIB);
    const row = transferRow(page, 'opened.pdf');
    await row.waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /to ferry\/photos\//);
    await app.close();
  });

  it('pauses a transfer (its bytes stop), resumes it, and it completes into the listing', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate((mib) => {
      const m = window.__ferryMock;
      m.setSpeed(4 * mib);
      m.addLocalFile('/home/you/a-big.iso', 300 * mib);
      m.addLocalFile('/home/you/b-big.iso', 300 * mib);
      void m.dropFiles(['/home/you/a-big.iso', '/home/you/b-big.iso'], { holdMs: 0 });
    }, MIB);
    const a = transferRow(page, 'a-big.iso');
    const b = transferRow(page, 'b-big.iso');
    await page.waitForFunction((el) => Number(el?.getAttribute('data-bytes-done')) > 0, await a.elementHandle(), WAIT);

    await a.getByTestId('transfer-pause').click();
    await page.locator('[data-testid="transfer-row"][data-state="paused"]').waitFor(WAIT);
    assert.equal(await a.getAttribute('data-state'), 'paused');
    const kept = await bytesDone(a);
    assert.ok(kept > 0, 'a paused transfer keeps the bytes it had');
    // Let the clock run: the other transfer moves on through a couple of progress batches...
    const bStart = await bytesDone(b);
    await page.waitForFunction(([el, start]) => Number(el?.getAttribute('data-bytes-done')) > start + 8 * 1024 * 1024, /** @type {const} */ ([await b.elementHandle(), bStart]), WAIT);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    // ...while the paused one stays where it was.
    assert.equal(await bytesDone(a), kept);
    assert.equal(await a.getByTestId('transfer-speed').textContent(), '');
    await a.getByTestId('transfer-resume').waitFor(WAIT);

    await page.evaluate((mib) => window.__ferryMock.setSpeed(200 * mib), MIB);
    await a.getByTestId('transfer-resume').click();
    await page.waitForFunction((el) => el?.getAttribute('data-state') === 'completed', await a.elementHandle(), WAIT);
    assert.equal(await bytesDone(a), 300 * MIB);
    assert.match((await a.getByTestId('transfer-state').textContent()) ?? '', /Done/);
    // The finished upload shows up in the folder on screen.
    await page.locator('[data-testid="object-row"][data-key="a-big.iso"]').waitFor(WAIT);
    await app.close();
  });

  it('shows why a transfer failed, and retries it', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate((mib) => {
      const m = window.__ferryMock;
      m.setSpeed(50 * mib);
      m.addLocalFile('/home/you/denied.bin', 20 * mib);
      m.failNext('access_denied', 'Access denied: the bucket policy does not allow PutObject for this key');
      void m.dropFiles(['/home/you/denied.bin'], { holdMs: 0 });
    }, MIB);
    const row = transferRow(page, 'denied.bin');
    await row.getByTestId('transfer-error').waitFor(WAIT);
    assert.equal(await row.getByTestId('transfer-error').textContent(), 'Access denied: the bucket policy does not allow PutObject for this key');
    assert.equal(await row.getAttribute('data-state'), 'failed');
    // The whole message, whatever its length, is one click (or Enter) away.
    await row.getByTestId('transfer-error').click();
    const details = page.locator('[data-testid="error-dialog"][open]');
    await details.waitFor(WAIT);
    assert.equal(await details.getByTestId('error-message').textContent(), 'Access denied: the bucket policy does not allow PutObject for this key');
    await page.keyboard.press('Escape');
    await details.waitFor({ state: 'hidden', ...WAIT });
    await row.getByTestId('transfer-retry').click();
    await page.waitForFunction((el) => el?.getAttribute('data-state') === 'completed', await row.elementHandle(), WAIT);
    await app.close();
  });

  it('says when a link ends sooner than asked because the account\'s credentials are temporary', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => window.__ferryMock.expireCredentialsIn('local', 20 * 60));
    const row = page.locator('[data-testid="object-row"][data-key="quarterly-report.pdf"]');
    await row.hover();
    await row.getByTestId('copy-link').click();
    await page.getByTestId('link-popover').waitFor(WAIT);
    assert.equal(await page.getByTestId('link-expiry').inputValue(), '3600');
    await page.getByTestId('link-create').click();
    await page.getByTestId('link-copied').waitFor(WAIT);
    const why = (await page.getByTestId('link-limited').textContent()) ?? '';
    assert.match(why, /^Sooner than asked: the account's temporary credentials expire at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; sign in again or use long-term keys for longer links\.$/);
    // The time shown is the credentials' expiry (the reason's UTC time, in the page's own format).
    const utc = /expire at (\S+ \S+) UTC/.exec(why)?.[1] ?? '';
    // The link itself ends with the credentials: signed at S (the mock's signature carries it), for
    // E seconds, S + E is their expiry, whatever second the click landed in.
    const url = await page.getByTestId('link-url').inputValue();
    const signedAt = parseInt(/X-Amz-Signature=mock([0-9a-f]+)/.exec(url)?.[1] ?? '', 16);
    const lasts = Number(/X-Amz-Expires=(\d+)&/.exec(url)?.[1]);
    assert.ok(lasts < 3600, `the link lasts less than asked: ${url}`);
    assert.equal(signedAt + lasts, Date.parse(`${utc.replace(' ', 'T')}Z`) / 1000, 'the link itself ends with the credentials');
    const expected = await page.evaluate(
      (t) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(`${t.replace(' ', 'T')}Z`)),
      utc,
    );
    assert.equal(((await page.getByTestId('link-copied').textContent()) ?? '').trim(), `Link copied — expires ${expected}`);
    await app.close();
  });

  it('copies a share link for an object with the chosen expiry', async () => {
    const app = await openApp();
    const { page } = app;
    const row = page.locator('[data-testid="object-row"][data-key="quarterly-report.pdf"]');
    await row.hover();
    await row.getByTestId('copy-link').click();
    const popover = page.getByTestId('link-popover');
    await popover.waitFor(WAIT);
    assert.equal(await page.getByTestId('link-expiry').inputValue(), '3600', 'the default expiry comes from the settings');
    await page.getByTestId('link-expiry').selectOption('86400');
    await page.getByTestId('link-create').click();
    const copied = page.getByTestId('link-copied');
    await copied.waitFor(WAIT);
    assert.match((await copied.textContent()) ?? '', /Link copied — expires \S+/);
    const url = await page.getByTestId('link-url').inputValue();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ferry\/quarterly-report\.pdf\?.*X-Amz-Expires=86400/);
    assert.equal(await page.evaluate(() => window.__ferryMock.clipboard), url);
    assert.doesNotMatch(url, /response-content-disposition/, 'an ordinary link opens in the browser');
    // "Download as file": a new link that saves the object under its name.
    await page.getByTestId('link-download').check();
    assert.equal(await page.getByTestId('link-copied').count(), 0, 'changing the kind asks for a new link');
    await page.getByTestId('link-create').click();
    await page.getByTestId('link-copied').waitFor(WAIT);
    const asFile = await page.getByTestId('link-url').inputValue();
    assert.match(asFile, /response-content-disposition=attachment%3B%20filename%3D%22quarterly-report\.pdf%22/);
    assert.equal(await page.evaluate(() => window.__ferryMock.clipboard), asFile);
    await page.keyboard.press('Escape');
    await popover.waitFor({ state: 'hidden', ...WAIT });
    await app.close();
  });

  it('virtualises 10,000 transfers: few rows in the DOM, later ones reached by scrolling', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => {
      window.__ferryMock.holdClock();
      window.__ferryMock.addTransfers(10_000, 'queued');
    });
    await page.getByTestId('transfer-summary').filter({ hasText: '10,000 queued' }).waitFor(WAIT);
    await transferRow(page, 'file-10000.bin').waitFor(WAIT);
    const list = page.getByTestId('transfer-list');
    const rendered = await page.getByTestId('transfer-row').count();
    assert.ok(rendered > 0 && rendered < 60, `only the visible rows are in the DOM (found ${rendered})`);
    const height = await list.evaluate((el) => el.scrollHeight);
    assert.ok(height >= 10_000 * 50, `the list is as tall as 10,000 rows (${height}px)`);

    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await transferRow(page, 'file-00001.bin').waitFor(WAIT);
    assert.ok((await page.getByTestId('transfer-row').count()) < 60);
    assert.equal(await transferRow(page, 'file-10000.bin').count(), 0, 'rows scrolled away leave the DOM');

    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight / 2));
    await transferRow(page, 'file-05000.bin').waitFor(WAIT);
    // Progress still reaches the rows in view.
    await page.evaluate(() => window.__ferryMock.releaseClock());
    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    const oldest = transferRow(page, 'file-00001.bin');
    await page.waitForFunction((el) => Number(el?.getAttribute('data-bytes-done')) > 0, await oldest.elementHandle(), WAIT);
    await app.close();
  });

  it('shows a queue of 100,000 transfers from a page or two: the whole count, the newest first, the oldest at the end', async () => {
    const app = await openApp();
    const { page } = app;
    const pages = await page.evaluate(() => {
      const mock = window.__ferryMock;
      mock.holdClock();
      /** @type {{ before?: number | null, after?: number | null, limit: number }[]} */
      const asked = [];
      const read = mock.listTransfersPage.bind(mock);
      mock.listTransfersPage = (/** @type {{ before?: number | null, after?: number | null, limit: number }} */ r) => {
        asked.push(r);
        return read(r);
      };
      Object.assign(window, { asked });
      // 99,999 finished transfers the mock makes only as pages read them, then one more, announced.
      mock.addHistory(99_999, 'completed');
      mock.addTransfers(1, 'completed');
      return asked;
    });
    assert.deepEqual(pages, []);
    await page.getByTestId('transfer-count').filter({ hasText: '100,000' }).waitFor(WAIT);
    await page.getByTestId('transfer-summary').filter({ hasText: '100,000 done' }).waitFor(WAIT);
    await transferRow(page, 'file-00001.bin').waitFor(WAIT);
    await transferRow(page, 'history-99999.bin').waitFor(WAIT);
    const list = page.getByTestId('transfer-list');
    const height = await list.evaluate((el) => el.scrollHeight);
    assert.ok(height >= 1_000_000, `the list is as long as the queue (${height}px)`);
    assert.ok((await page.getByTestId('transfer-row').count()) < 60, 'only the rows in view are in the DOM');

    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await transferRow(page, 'history-00001.bin').waitFor(WAIT);
    assert.equal(await transferRow(page, 'file-00001.bin').count(), 0);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="transfer-pending"]').length === 0, null, WAIT);
    /** @type {{ limit: number }[]} */
    const asked = await page.evaluate(() => /** @type {any} */ (window).asked);
    assert.ok(asked.length <= 6, `a few pages were read, not the queue (${JSON.stringify(asked)})`);
    assert.ok(asked.every((r) => r.limit <= 1000));

    // Back to the top, the newest again.
    await list.evaluate((el) => el.scrollTo(0, 0));
    await transferRow(page, 'file-00001.bin').waitFor(WAIT);
    await app.close();
  });

  it('adds an account when no keychain is available by keeping the secret for the session', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => {
      window.__ferryMock.keychainAvailable = false;
    });
    await page.getByTestId('add-account').click();
    const dialog = page.getByTestId('add-account-dialog');
    await dialog.waitFor(WAIT);
    // Validation first.
    await page.getByTestId('account-save').click();
    await dialog.getByText('Give the account a name.').waitFor(WAIT);
    await page.getByTestId('account-name').fill('r2-backups');
    assert.equal(await page.getByTestId('account-path-style').isChecked(), false, 'AWS (no endpoint) uses virtual-hosted addressing');
    await page.getByTestId('account-endpoint').fill('https://accountid.r2.example.com');
    assert.equal(await page.getByTestId('account-path-style').isChecked(), true, 'an S3-compatible endpoint turns path-style on');
    await page.getByTestId('account-region').fill('auto');
    await page.getByTestId('account-access-key').fill('AKIAEXAMPLE');
    await page.getByTestId('account-secret').fill('wrong');
    await page.getByTestId('test-connection').click();
    await page.locator('[data-testid="test-result"][data-ok="false"]').filter({ hasText: 'SignatureDoesNotMatch' }).waitFor(WAIT);
    await page.getByTestId('account-secret').fill('s3cr3t');
    await page.getByTestId('test-connection').click();
    await page.locator('[data-testid="test-result"][data-ok="true"]').filter({ hasText: 'Connected: 2 buckets' }).waitFor(WAIT);

    await page.getByTestId('account-save').click();
    const explain = page.getByTestId('keychain-unavailable');
    await explain.waitFor(WAIT);
    assert.match((await explain.textContent()) ?? '', /No system keychain is available/);
    await page.getByTestId('keep-session-only').click();
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    await page.locator('[data-testid="account-item"][data-account="r2-backups"]').waitFor(WAIT);
    await page.locator('[data-testid="account-item"][data-account="r2-backups"] [data-testid="bucket-item"][data-bucket="backups"]').waitFor(WAIT);

    await page.getByTestId('manage-accounts').click();
    const r2 = page.locator('[data-testid="account-row"][data-account="r2-backups"]');
    assert.match((await r2.getByTestId('account-secret').textContent()) ?? '', /this session only/);
    const work = page.locator('[data-testid="account-row"][data-account="work"]');
    assert.match((await work.getByTestId('account-secret').textContent()) ?? '', /AWS profile/);
    assert.equal(await work.getByTestId('account-remove').count(), 0, 'AWS profiles are read-only');
    // Remove it again, with a confirmation.
    await r2.getByTestId('account-remove').click();
    await page.getByTestId('confirm-ok').click();
    await r2.waitFor({ state: 'detached', ...WAIT });
    await app.close();
  });

  it('keeps an account\'s upload defaults: storage class, encryption with its KMS key, cache control', async () => {
    const app = await openApp();
    const { page } = app;
    await page.getByTestId('manage-accounts').click();
    const local = page.locator('[data-testid="account-row"][data-account="local"]');
    await local.getByTestId('account-defaults').click();
    const dialog = page.locator('[data-testid="defaults-dialog"][open]');
    await dialog.getByTestId('defaults-storage-class').selectOption('STANDARD_IA');
    await dialog.getByTestId('defaults-sse').selectOption('aws:kms');
    await dialog.getByTestId('defaults-kms-key').fill('alias/backups');
    await dialog.getByTestId('defaults-cache-control').fill('max-age=3600');
    await dialog.getByTestId('defaults-save').click();
    await page.getByTestId('notice').filter({ hasText: 'Saved the upload defaults of local.' }).waitFor(WAIT);
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    const kept = await page.evaluate(() => window.__ferryMock.accountDefaults('local'));
    assert.deepEqual(kept, { storageClass: 'STANDARD_IA', sse: 'aws:kms', sseKmsKeyId: 'alias/backups', cacheControl: 'max-age=3600' });
    // Opened again it shows them; the key goes away with the encryption it belongs to.
    await local.getByTestId('account-defaults').click();
    assert.equal(await dialog.getByTestId('defaults-cache-control').inputValue(), 'max-age=3600');
    assert.equal(await dialog.getByTestId('defaults-kms-key').inputValue(), 'alias/backups');
    await dialog.getByTestId('defaults-sse').selectOption('AES256');
    await dialog.getByTestId('defaults-save').click();
    await dialog.getByTestId('defaults-error').filter({ hasText: 'A KMS key goes with aws:kms' }).waitFor(WAIT);
    await app.close();
  });

  it('creates a bucket with a validated name, then deletes objects after confirming their count and size', async () => {
    const app = await openApp();
    const { page } = app;
    await page.locator('[data-testid="account-item"][data-account="local"]').getByTestId('create-bucket').click();
    await page.getByTestId('bucket-name').fill('Holiday_Photos');
    await page.getByTestId('bucket-name-error').filter({ hasText: 'lowercase' }).waitFor(WAIT);
    await page.getByTestId('bucket-name').fill('holiday-photos');
    await page.getByTestId('bucket-name-error').waitFor({ state: 'hidden', ...WAIT });
    await page.getByTestId('create-bucket-submit').click();
    await page.locator('[data-testid="bucket-item"][data-bucket="holiday-photos"][aria-current="true"]').waitFor(WAIT);
    await page.getByTestId('browser-empty').waitFor(WAIT);

    await page.locator('[data-testid="bucket-item"][data-bucket="ferry"]').click();
    const readme = page.locator('[data-testid="object-row"][data-key="README.txt"]');
    await readme.getByTestId('select-row').check();
    await page.locator('[data-testid="prefix-row"][data-key="backups/"]').getByTestId('select-row').check();
    await page.getByTestId('delete-selected').click();
    const confirm = page.locator('[data-testid="confirm-dialog"][open]');
    assert.match((await confirm.textContent()) ?? '', /Delete 1 object and 1 folder\?/);
    // The count covers what is inside the folder (counted by the backend), before anything is deleted.
    await confirm.getByTestId('delete-tally').filter({ hasText: '2 objects, 1.3 GiB in total, will be deleted.' }).waitFor(WAIT);
    await page.getByTestId('confirm-ok').click();
    await readme.waitFor({ state: 'detached', ...WAIT });
    await page.locator('[data-testid="prefix-row"][data-key="backups/"]').waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('notice').filter({ hasText: 'Deleted 2 objects.' }).waitFor(WAIT);

    // A key the server refuses is named; the rest of the folder is deleted.
    await page.evaluate(() => window.__ferryMock.refusedDeletes.add('photos/lighthouse.jpg'));
    const photos = page.locator('[data-testid="prefix-row"][data-key="photos/"]');
    await photos.getByTestId('select-row').check();
    await page.getByTestId('delete-selected').click();
    await confirm.getByTestId('delete-tally').filter({ hasText: '3 objects, 12.6 MiB in total, will be deleted.' }).waitFor(WAIT);
    await page.getByTestId('confirm-ok').click();
    await page
      .getByTestId('notice')
      .filter({ hasText: 'Deleted 2 objects. 1 object could not be deleted: photos/lighthouse.jpg' })
      .waitFor(WAIT);
    await photos.waitFor(WAIT);
    await app.close();
  });

  it('shows an object\'s properties, renames with F2 (asking before replacing), moves and copies a folder', async () => {
    const app = await openApp();
    const { page } = app;
    const row = (/** @type {string} */ key) => page.locator(`[data-testid="object-row"][data-key="${key}"]`);
    const folder = (/** @type {string} */ key) => page.locator(`[data-testid="prefix-row"][data-key="${key}"]`);

    await row('quarterly-report.pdf').hover();
    await row('quarterly-report.pdf').getByTestId('properties').click();
    const props = page.locator('[data-testid="properties-dialog"][open]');
    const field = (/** @type {string} */ name) => props.locator(`[data-testid="property"][data-field="${name}"] dd`);
    await field('content-type').filter({ hasText: 'application/pdf' }).waitFor(WAIT);
    assert.equal(await field('size').textContent(), '1.8 MiB (1,873,420 bytes)');
    assert.equal(await field('checksum-CRC32C').count(), 1);
    await props.getByTestId('modal-close').click();

    // F2 on the one selected row renames it in place: Enter renames, a name with "/" is refused.
    await row('README.txt').getByTestId('select-row').check();
    await page.keyboard.press('F2');
    const inPlace = page.getByTestId('rename-field');
    assert.equal(await inPlace.inputValue(), 'README.txt');
    await inPlace.fill('a/b');
    await inPlace.press('Enter');
    await page.getByTestId('rename-field-error').filter({ hasText: 'cannot contain "/"' }).waitFor(WAIT);
    await inPlace.fill('READ-ME.txt');
    await inPlace.press('Enter');
    await row('READ-ME.txt').waitFor(WAIT);
    await row('README.txt').waitFor({ state: 'detached', ...WAIT });
    const dialog = page.locator('[data-testid="relocate-dialog"][open]');
    const input = dialog.getByTestId('relocate-input');

    // Onto an existing name: refused, then replaced only when asked.
    await row('READ-ME.txt').hover();
    await row('READ-ME.txt').getByTestId('rename').click();
    await input.fill('quarterly-report.pdf');
    await dialog.getByTestId('relocate-submit').click();
    await dialog.getByTestId('relocate-error').filter({ hasText: 'already exist' }).waitFor(WAIT);
    assert.equal(await row('READ-ME.txt').count(), 1, 'nothing moved before asking');
    await dialog.getByTestId('relocate-replace').click();
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    await row('READ-ME.txt').waitFor({ state: 'detached', ...WAIT });
    await row('quarterly-report.pdf').hover();
    await row('quarterly-report.pdf').getByTestId('properties').click();
    await field('size').filter({ hasText: '2,184 bytes' }).waitFor(WAIT);
    await props.getByTestId('modal-close').click();

    // A folder moved into another, then copied back keeping the original.
    await folder('photos/').hover();
    await folder('photos/').getByTestId('move').click();
    await input.fill('backups');
    await dialog.getByTestId('relocate-submit').click();
    await page.getByTestId('notice').filter({ hasText: 'Moving the folder photos (3 objects) to backups/photos/ on the server; Transfers shows its progress.' }).waitFor(WAIT);
    await folder('photos/').waitFor({ state: 'detached', ...WAIT });
    // Each object of it was a server-side copy in the transfers panel.
    const copyRow = transferRow(page, 'ferry-deck.jpg');
    await copyRow.waitFor(WAIT);
    assert.match((await copyRow.textContent()) ?? '', /from ferry\/photos\/2025\/ferry-deck\.jpg to ferry\/backups\/photos\/2025\/ferry-deck\.jpg/);
    assert.equal(await copyRow.locator('.dir.copy').getAttribute('title'), 'Server-side copy');
    await folder('backups/').getByTestId('open-prefix').click();
    await folder('backups/photos/').hover();
    await folder('backups/photos/').getByTestId('move').click();
    await dialog.getByTestId('relocate-keep').check();
    await input.fill('');
    await dialog.getByTestId('relocate-submit').click();
    await page.getByTestId('notice').filter({ hasText: 'Copying the folder photos (3 objects) to photos/ on the server; Transfers shows its progress.' }).waitFor(WAIT);
    await folder('backups/photos/').waitFor(WAIT);
    await app.close();
  });

  it("shows an object's versions and a folder's; downloads, restores, and deletes one only once confirmed", async () => {
    const app = await openApp();
    const { page } = app;
    const row = (/** @type {string} */ key) => page.locator(`[data-testid="object-row"][data-key="${key}"]`);
    /** @returns {Promise<string[]>} the report's version ids as the mock holds them, newest first */
    const held = () =>
      page.evaluate(() => window.__ferryMock.versionsOf('local', 'ferry', 'quarterly-report.pdf').map((/** @type {{ versionId: string }} */ v) => v.versionId));

    await row('quarterly-report.pdf').hover();
    await row('quarterly-report.pdf').getByTestId('versions').click();
    const dialog = page.locator('[data-testid="versions-dialog"][open]');
    const summary = dialog.getByTestId('versions-summary');
    await summary.filter({ hasText: '3 versions, 1 delete marker' }).waitFor(WAIT);
    const versions = dialog.getByTestId('version-row');
    assert.equal(await versions.count(), 4);
    assert.equal(await versions.nth(0).getAttribute('data-current'), 'true');
    assert.equal(await versions.nth(0).getByTestId('version-badge').textContent(), 'Current');
    assert.equal(await versions.nth(1).getAttribute('data-marker'), 'true');
    assert.equal(await versions.nth(1).getByTestId('version-badge').textContent(), 'Delete marker');
    assert.match((await versions.nth(2).textContent()) ?? '', /1\.6 MiB/);
    assert.equal(await versions.nth(0).getByTestId('version-restore').count(), 0, 'the current version has nothing to restore');
    assert.equal(await versions.nth(1).getByTestId('version-download').count(), 0, 'a delete marker has no bytes');
    await page.screenshot({ path: join(SHOTS, 'versions.png') });

    // Download the oldest version into the chosen folder.
    await page.evaluate(() => window.__ferryMock.holdClock());
    const oldestId = /** @type {string} */ (await versions.nth(3).getAttribute('data-version'));
    const oldest = dialog.locator(`[data-testid="version-row"][data-version="${oldestId}"]`);
    await oldest.hover();
    await oldest.getByTestId('version-download').click();
    await page.getByTestId('notice').filter({ hasText: 'of quarterly-report.pdf into /home/you/Downloads' }).waitFor(WAIT);
    const queued = transferRow(page, 'quarterly-report.pdf');
    assert.equal(await queued.getByTestId('transfer-version').getAttribute('title'), `Version ${oldestId}`);
    assert.match((await queued.textContent()) ?? '', /into \/home\/you\/Downloads\/quarterly-report\.pdf/);

    // Restore the 1.6 MiB version: it is current again as a new version; none is lost.
    const olderId = /** @type {string} */ (await versions.nth(2).getAttribute('data-version'));
    await versions.nth(2).hover();
    await versions.nth(2).getByTestId('version-restore').click();
    await summary.filter({ hasText: '4 versions, 1 delete marker' }).waitFor(WAIT);
    assert.equal(await versions.nth(0).getAttribute('data-current'), 'true');
    assert.match((await versions.nth(0).textContent()) ?? '', /1\.6 MiB/);
    const afterRestore = await held();
    assert.equal(afterRestore.length, 5);
    assert.ok(afterRestore.includes(olderId) && afterRestore.includes(oldestId));
    await row('quarterly-report.pdf').and(page.locator('[data-size="1650112"]')).waitFor(WAIT);

    // Delete asks first, and Enter keeps the version (focus starts on Cancel).
    await oldest.hover();
    await oldest.getByTestId('version-delete').click();
    const confirm = page.locator('[data-testid="confirm-dialog"][open]');
    await confirm.getByTestId('delete-version-question').filter({ hasText: 'for good? It cannot be undone.' }).waitFor(WAIT);
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached', ...WAIT });
    assert.deepEqual(await held(), afterRestore, 'nothing deleted');
    // Confirmed: exactly that version goes.
    await oldest.hover();
    await oldest.getByTestId('version-delete').click();
    await confirm.getByTestId('confirm-ok').click();
    await summary.filter({ hasText: '3 versions, 1 delete marker' }).waitFor(WAIT);
    assert.deepEqual(await held(), afterRestore.filter((id) => id !== oldestId));
    await dialog.getByTestId('modal-close').click();

    // The folder's versions: every object's, and those of an object deleted since (old-notes.txt).
    await page.getByTestId('show-versions').check();
    const folder = page.getByTestId('folder-versions');
    await folder.getByTestId('folder-versions-status').filter({ hasText: /^6 versions, 2 delete markers$/ }).waitFor(WAIT);
    assert.equal(await folder.locator('[data-testid="version-prefix"][data-prefix="photos/"]').count(), 1);
    const notes = folder.locator('[data-testid="version-row"][data-key="old-notes.txt"]');
    assert.equal(await notes.count(), 2);
    assert.equal(await notes.first().getByTestId('version-badge').textContent(), 'Deleted (current)');
    assert.equal(await row('old-notes.txt').count(), 0);
    // Deleting the delete marker brings the object back.
    await notes.first().hover();
    await notes.first().getByTestId('version-delete').click();
    await confirm.getByTestId('delete-version-question').filter({ hasText: 'becomes current again' }).waitFor(WAIT);
    await confirm.getByTestId('confirm-ok').click();
    await folder.getByTestId('folder-versions-status').filter({ hasText: /^6 versions, 1 delete marker$/ }).waitFor(WAIT);
    await page.getByTestId('show-versions').uncheck();
    await row('old-notes.txt').waitFor(WAIT);
    await app.close();
  });

  it('calculates the size of a folder and of the whole bucket, the count shown while it runs', async () => {
    const app = await openApp();
    const { page } = app;
    const folder = (/** @type {string} */ key) => page.locator(`[data-testid="prefix-row"][data-key="${key}"]`);
    const dialog = page.locator('[data-testid="size-dialog"][open]');
    const total = dialog.getByTestId('size-total');

    // A known folder: every level below it.
    await folder('photos/').hover();
    await folder('photos/').getByTestId('folder-size').click();
    await total.and(page.locator('[data-done="true"]')).waitFor(WAIT);
    assert.equal(await total.textContent().then((t) => t?.trim()), '3 objects, 12.6 MiB');
    assert.equal(await total.getAttribute('data-bytes'), String(4_812_003 + 3_301_554 + 5_120_777));
    await dialog.getByTestId('modal-close').click();

    // 5,000 objects with the listing's pages held from the second: the first page's count shows, then the rest.
    await page.evaluate(() => {
      window.__ferryMock.addGeneratedFolder('local', 'ferry', 'big/', 5000);
      window.__ferryMock.holdPagesFrom(2);
    });
    await page.getByTestId('refresh').click();
    await folder('big/').hover();
    await folder('big/').getByTestId('folder-size').click();
    await total.filter({ hasText: 'Counting… 1,000 objects' }).waitFor(WAIT);
    assert.equal(await total.getAttribute('data-done'), 'false');
    await page.evaluate(() => window.__ferryMock.releasePages());
    await total.and(page.locator('[data-done="true"]')).waitFor(WAIT);
    // The mock's generated sizes (mock/objects.ts, generatedObject).
    let bytes = 0;
    for (let i = 0; i < 5000; i++) bytes += (Math.imul(i + 1, 0x9e3779b1) >>> 0) % (64 * MIB);
    assert.equal(await total.getAttribute('data-objects'), '5000');
    assert.equal(await total.getAttribute('data-bytes'), String(bytes));
    await dialog.getByTestId('modal-close').click();

    // The bucket, from its root; closing the dialog while it counts stops the count.
    await page.evaluate(() => window.__ferryMock.holdPagesFrom(2));
    await page.getByTestId('calculate-size').click();
    await dialog.filter({ hasText: 'Size of the bucket ferry' }).waitFor(WAIT);
    await total.filter({ hasText: 'Counting…' }).waitFor(WAIT);
    const before = await page.evaluate(() => window.__ferryMock.listingStats.listingsCancelled);
    await dialog.getByTestId('modal-close').click();
    await page.evaluate(() => window.__ferryMock.releasePages());
    await page.waitForFunction((n) => window.__ferryMock.listingStats.listingsCancelled > n, before, WAIT);
    await page.getByTestId('calculate-size').click();
    await total.and(page.locator('[data-done="true"]')).waitFor(WAIT);
    assert.equal(await total.getAttribute('data-objects'), '5007');
    await app.close();
  });

  it('edits an object\'s properties: the server rewrites them, what is not changed stays', async () => {
    const app = await openApp();
    const { page } = app;
    const row = page.locator('[data-testid="object-row"][data-key="quarterly-report.pdf"]');
    const props = page.locator('[data-testid="properties-dialog"][open]');
    const field = (/** @type {string} */ name) => props.locator(`[data-testid="property"][data-field="${name}"] dd`);
    await row.hover();
    await row.getByTestId('properties').click();
    await field('content-type').filter({ hasText: 'application/pdf' }).waitFor(WAIT);
    await props.getByTestId('properties-edit').click();
    // Saving what did not change is said, not sent.
    await props.getByTestId('properties-save').click();
    await props.getByTestId('properties-edit-error').filter({ hasText: 'Nothing has changed.' }).waitFor(WAIT);
    await props.getByTestId('edit-content-type').fill('pdf');
    await props.getByTestId('properties-save').click();
    await props.getByTestId('properties-edit-error').filter({ hasText: 'like text/plain' }).waitFor(WAIT);
    await props.getByTestId('edit-content-type').fill('application/x-pdf');
    await props.getByTestId('edit-cache-control').fill('max-age=3600');
    await props.getByTestId('edit-meta-add').click();
    await props.getByTestId('edit-meta-name').last().fill('Owner');
    await props.getByTestId('edit-meta-value').last().fill('ana');
    await props.getByTestId('properties-save').click();
    await field('content-type').filter({ hasText: 'application/x-pdf' }).waitFor(WAIT);
    assert.equal(await field('cache-control').textContent(), 'max-age=3600');
    assert.equal(await field('meta-owner').textContent(), 'ana');
    assert.equal(await field('size').textContent(), '1.8 MiB (1,873,420 bytes)');
    await page.getByTestId('notice').filter({ hasText: 'Saved the properties of quarterly-report.pdf.' }).waitFor(WAIT);
    // Opened again, the panel shows what the server keeps now; removing the metadata row removes it.
    await props.getByTestId('modal-close').click();
    await row.hover();
    await row.getByTestId('properties').click();
    await field('meta-owner').filter({ hasText: 'ana' }).waitFor(WAIT);
    await props.getByTestId('properties-edit').click();
    await props.getByTestId('edit-meta-remove').click();
    await props.getByTestId('properties-save').click();
    await field('content-type').filter({ hasText: 'application/x-pdf' }).waitFor(WAIT);
    assert.equal(await field('meta-owner').count(), 0);
    await app.close();
  });

  it('downloads a whole prefix into a chosen folder', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => window.__ferryMock.holdClock());
    const photos = page.locator('[data-testid="prefix-row"][data-key="photos/"]');
    await photos.hover();
    await photos.getByTestId('download').click();
    await page.getByTestId('notice').filter({ hasText: 'Downloading 3 files into /home/you/Downloads' }).waitFor(WAIT);
    await transferRow(page, 'ferry-deck.jpg').waitFor(WAIT);
    assert.match((await transferRow(page, 'ferry-deck.jpg').textContent()) ?? '', /into \/home\/you\/Downloads\/photos\/2025\/ferry-deck\.jpg/);
    assert.equal(await page.getByTestId('transfer-row').count(), 3);
    // Finished, each download says what it was verified against.
    await page.evaluate(() => window.__ferryMock.advance(60_000));
    const verified = transferRow(page, 'ferry-deck.jpg').getByTestId('transfer-verified');
    await verified.waitFor(WAIT);
    assert.match((await verified.textContent()) ?? '', /verified \(CRC32C\)/);
    assert.equal(await verified.getAttribute('title'), "Verified against the server's CRC32C");
    await app.close();
  });

  it('watches a folder: added with ignore patterns, uploads into recent, pauses, resumes, refuses a duplicate, is removed', async () => {
    const app = await openApp();
    const { page } = app;
    const CAMERA = '/home/you/Pictures/Camera';
    await page.evaluate((path) => {
      window.__ferryMock.nextPickedFolder = path;
    }, CAMERA);
    await page.getByRole('button', { name: /^Watched folders/ }).click();
    const list = page.getByRole('dialog', { name: 'Watched folders' });
    await list.getByText('No folders are watched yet.').waitFor(WAIT);

    await list.getByRole('button', { name: 'Add watched folder' }).click();
    const form = page.getByRole('dialog', { name: 'Add watched folder' });
    await form.getByRole('button', { name: 'Start watching' }).click();
    await form.getByText('Choose the folder to watch.').waitFor(WAIT);
    await form.getByRole('button', { name: 'Choose the folder to watch' }).click();
    const path = form.getByLabel('Folder', { exact: true });
    await page.waitForFunction(([el, want]) => /** @type {HTMLInputElement} */ (el).value === want, /** @type {const} */ ([await path.elementHandle(), CAMERA]), WAIT);
    await form.getByText('Choose the folder to watch.').waitFor({ state: 'detached', ...WAIT });
    // It starts from the bucket on screen.
    assert.equal(await form.getByLabel('Account', { exact: true }).inputValue(), 'local');
    await page.waitForFunction((el) => /** @type {HTMLSelectElement} */ (el).value === 'ferry', await form.getByLabel('Bucket', { exact: true }).elementHandle(), WAIT);
    await form.getByLabel('Prefix').fill('/camera');
    await form.getByText('goes to ferry/camera/holiday/beach.jpg').waitFor(WAIT);
    assert.match((await form.getByText(/Hidden and temporary files are ignored by default/).textContent()) ?? '', /\.\*, ~\$\*, \*\.tmp, \*\.part, \.DS_Store\./);
    await form.getByLabel('Ignore patterns').fill('*.raw\n\n# rebuilt every night\nexports/\n');
    assert.equal(await form.getByLabel('Mirror deletions').isChecked(), false, 'deletions are not mirrored unless chosen');
    // Catching up is shown before watching: the clock waits until the badge has been seen.
    await page.evaluate(() => window.__ferryMock.holdClock());
    await form.getByRole('button', { name: 'Start watching' }).click();
    await form.waitFor({ state: 'hidden', ...WAIT });

    const row = list.getByRole('listitem', { name: CAMERA });
    const badge = row.getByTestId('watched-state');
    assert.equal(await badge.textContent(), 'Catching up');
    await page.evaluate(() => window.__ferryMock.releaseClock());
    await badge.filter({ hasText: /^Watching$/ }).waitFor(WAIT);
    const text = (await row.textContent()) ?? '';
    assert.match(text, /to local · ferry\/camera\//);
    assert.match(text, /Ignores \*\.raw, exports\/, plus hidden and temporary files · deletions are not mirrored/);
    assert.match(text, /Nothing uploaded yet\./);
    assert.match((await page.getByRole('button', { name: /^Watched folders/ }).textContent()) ?? '', /Watched folders\s*1/);

    // A new photo is uploaded; the raw file and the hidden one are ignored.
    const started = await page.evaluate(({ dir, mib }) => {
      const m = window.__ferryMock;
      return [
        m.watchedFileAppears(`${dir}/IMG_0001.raw`, 30 * mib),
        m.watchedFileAppears(`${dir}/.thumbnails/beach.png`, mib),
        m.watchedFileAppears(`${dir}/2026/beach.jpg`, 2 * mib),
      ];
    }, { dir: CAMERA, mib: MIB });
    assert.deepEqual(started, [0, 0, 1]);
    const recent = row.getByRole('list', { name: /Recent uploads/ });
    await recent.getByText('camera/2026/beach.jpg').waitFor(WAIT);
    assert.equal(await recent.getByRole('listitem').count(), 1, 'the ignored files were not uploaded');
    assert.match((await recent.getByRole('listitem').first().textContent()) ?? '', /camera\/2026\/beach\.jpg\s*2\.0 MiB/);
    assert.match((await row.getByRole('heading', { name: /Recent uploads/ }).textContent()) ?? '', /1 file/);

    // Paused, a new file waits; resumed, it goes up first in the list.
    await row.getByRole('button', { name: `Pause watching ${CAMERA}` }).click();
    await badge.filter({ hasText: /^Paused$/ }).waitFor(WAIT);
    assert.equal(await badge.getAttribute('title'), 'Paused: files that change now are uploaded when you resume.');
    assert.equal(await page.evaluate((dir) => window.__ferryMock.watchedFileAppears(`${dir}/dune.jpg`, 1024 * 1024), CAMERA), 1);
    await row.getByRole('button', { name: `Resume watching ${CAMERA}` }).click();
    await badge.filter({ hasText: /^Watching$/ }).waitFor(WAIT);
    await recent.getByText('camera/dune.jpg').waitFor(WAIT);
    assert.deepEqual(
      (await recent.locator('.key').allTextContents()),
      ['camera/dune.jpg', 'camera/2026/beach.jpg'],
      'newest first',
    );

    // When the engine stops it, the badge says Error and the reason is there in words.
    const id = await row.getAttribute('data-id');
    await page.evaluate((folderId) => window.__ferryMock.failWatched(folderId, 'The folder /home/you/Pictures/Camera no longer exists. Reconnect the drive, then try again.'), id);
    await badge.filter({ hasText: /^Error$/ }).waitFor(WAIT);
    assert.equal((await row.getByTestId('watched-error').textContent())?.trim(), 'The folder /home/you/Pictures/Camera no longer exists. Reconnect the drive, then try again.');
    await page.getByRole('button', { name: /^Watched folders/ }).filter({ hasText: 'stopped with an error' }).waitFor(WAIT);
    await row.getByRole('button', { name: `Try again watching ${CAMERA}` }).click();
    await badge.filter({ hasText: /^Watching$/ }).waitFor(WAIT);
    assert.equal(await row.getByTestId('watched-error').count(), 0);

    // The same folder into the same bucket and prefix: the backend refuses, in words.
    await list.getByRole('button', { name: 'Add watched folder' }).click();
    await form.getByRole('button', { name: 'Choose the folder to watch' }).click();
    await page.waitForFunction(([el, want]) => /** @type {HTMLInputElement} */ (el).value === want, /** @type {const} */ ([await path.elementHandle(), CAMERA]), WAIT);
    await form.getByLabel('Prefix').fill('camera/');
    await form.getByRole('button', { name: 'Start watching' }).click();
    const refusal = form.getByRole('alert');
    await refusal.waitFor(WAIT);
    assert.equal(await refusal.textContent(), `${CAMERA} is already watched into s3://ferry/camera/`);
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await list.getByRole('listitem', { name: CAMERA }).count(), 1);

    // Removed after confirming; what it uploaded stays in the bucket.
    await row.getByRole('button', { name: `Remove ${CAMERA}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Stop watching this folder?' });
    assert.match((await confirm.textContent()) ?? '', /Ferry stops uploading from \/home\/you\/Pictures\/Camera\. What it uploaded stays in\s+local · ferry\/camera\/, and nothing on this computer is touched\./);
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached', ...WAIT });
    await list.getByText('No folders are watched yet.').waitFor(WAIT);
    const keys = await page.evaluate(async () => {
      /** @type {string[]} */
      const all = [];
      /** @param {{objects: {key: string}[]}} page */
      const onPage = (page) => all.push(...page.objects.map((o) => o.key));
      await window.__ferryMock.listObjects('local', 'ferry', 'camera/', onPage).done;
      return all;
    });
    assert.deepEqual(keys, ['camera/dune.jpg']);
    assert.deepEqual(await page.evaluate(async () => (await window.__ferryMock.listWatched()).length), 0);
    await app.close();
  });

  it('asks before mirroring deletions, and shows a watched folder that mirrors them', async () => {
    const app = await openApp({ colorScheme: 'dark' });
    const { page } = app;
    await page.evaluate(() => {
      window.__ferryMock.nextPickedFolder = '/home/you/Documents/Invoices';
    });
    await page.getByRole('button', { name: /^Watched folders/ }).click();
    const list = page.getByRole('dialog', { name: 'Watched folders' });
    await list.getByRole('button', { name: 'Add watched folder' }).click();
    const form = page.getByRole('dialog', { name: 'Add watched folder' });
    await form.getByRole('button', { name: 'Choose the folder to watch' }).click();
    await page.waitForFunction((el) => /** @type {HTMLInputElement} */ (el).value !== '', await form.getByLabel('Folder', { exact: true }).elementHandle(), WAIT);
    await form.getByLabel('Prefix').fill('invoices/');
    const mirror = form.getByLabel('Mirror deletions');

    // Cancelled: stays off.
    await mirror.click();
    const ask = page.getByRole('dialog', { name: 'Mirror deletions?' });
    await ask.waitFor(WAIT);
    assert.match(
      (await ask.textContent()) ?? '',
      /Files deleted locally will be deleted from the bucket: when a file is deleted from\s+\/home\/you\/Documents\/Invoices, Ferry deletes its copy from ferry\/invoices\/ too\./,
    );
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await ask.waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await mirror.isChecked(), false);
    assert.equal(await form.getByText('Files deleted from this folder stay in the bucket.').count(), 1);

    // Confirmed: on, and the form says what it means.
    await mirror.click();
    await ask.getByRole('button', { name: 'Mirror deletions' }).click();
    await ask.waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await mirror.isChecked(), true);
    await form.getByText('A file deleted from this folder is deleted from ferry/invoices/ too.').waitFor(WAIT);
    // Unticking needs no confirmation.
    await mirror.click();
    assert.equal(await mirror.isChecked(), false);
    assert.equal(await ask.count(), 0);
    await mirror.click();
    await ask.getByRole('button', { name: 'Mirror deletions' }).click();
    assert.equal(await mirror.isChecked(), true);

    await form.getByRole('button', { name: 'Start watching' }).click();
    await form.waitFor({ state: 'hidden', ...WAIT });
    const row = list.getByRole('listitem', { name: '/home/you/Documents/Invoices' });
    await row.getByTestId('watched-state').filter({ hasText: /^Watching$/ }).waitFor(WAIT);
    assert.match((await row.textContent()) ?? '', /Ignores hidden and temporary files · deletions are mirrored/);
    assert.equal(await page.evaluate(async () => (await window.__ferryMock.listWatched())[0].mirrorDeletes), true);
    await app.close();
  });

  it('follows the system theme, switches to dark from the settings, and saves screenshots', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const app = await openApp({ colorScheme: 'light' });
    const { page } = app;
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await stageTransfers(page);
    await page.screenshot({ path: join(SHOTS, 'browser-light.png') });

    await page.getByTestId('settings-button').click();
    await page.getByTestId('settings-dialog').waitFor(WAIT);
    await page.getByTestId('theme-select').selectOption('dark');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'applied at once');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-dialog').waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await page.evaluate(async () => (await window.__ferryMock.getSettings()).theme), 'dark');
    // A theme tried in the dialog and cancelled is taken back.
    await page.getByTestId('settings-button').click();
    await page.getByTestId('theme-select').selectOption('light');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await page.getByTestId('settings-cancel').click();
    await page.getByTestId('settings-dialog').waitFor({ state: 'hidden', ...WAIT });
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.evaluate(() => {
      for (const n of document.querySelectorAll('[data-testid="notice"] button')) /** @type {HTMLElement} */ (n).click();
    });
    await page.getByTestId('notice').first().waitFor({ state: 'detached', ...WAIT });
    await page.mouse.move(640, 60);
    await page.screenshot({ path: join(SHOTS, 'browser-dark.png') });

    // A dark system with the "system" theme shows dark too.
    const dark = await openApp({ colorScheme: 'dark' });
    assert.equal(await dark.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await dark.close();
    await app.close();
  });
});

describe('Sync in a browser', () => {
  /** @param {import('playwright-core').Page} page */
  const keys = (page) => page.evaluate(() => window.__ferryMock.objectKeys('local', 'ferry'));

  it('previews a sync of a folder onto the prefix on screen (nothing moves), syncs after confirming the deletes, and keeps the pair', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(() => {
      const m = window.__ferryMock;
      m.setLocalFolder('/home/you/site', { 'index.html': { size: 2048 }, 'css/main.css': { size: 512 }, 'notes.log': { size: 9 } });
      m.nextPickedFolder = '/home/you/site';
    });
    await page.locator('[data-testid="prefix-row"][data-key="photos/"]').getByTestId('open-prefix').click();
    await page.locator('[data-testid="object-row"][data-key="photos/lighthouse.jpg"]').waitFor(WAIT);

    // Escape closes the dialog; opened again, it starts from the folder on screen.
    await page.getByTestId('sync-button').click();
    const dialog = page.getByTestId('sync-dialog');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    await page.getByTestId('sync-button').click();
    await dialog.waitFor({ state: 'visible', ...WAIT });
    assert.equal(await page.getByTestId('sync-prefix').inputValue(), 'photos/');
    assert.equal(await page.getByTestId('sync-bucket').inputValue(), 'ferry');
    assert.equal(await page.getByLabel('Local folder', { exact: true }).getAttribute('data-testid'), 'sync-path', 'the folder field is labelled');
    assert.equal(await page.getByLabel(/^Prefix/).getAttribute('data-testid'), 'sync-prefix');

    await page.getByTestId('sync-pick').click();
    await page.waitForFunction(() => /** @type {HTMLInputElement} */ (document.querySelector('[data-testid="sync-path"]'))?.value === '/home/you/site', undefined, WAIT);
    await page.getByTestId('sync-exclude').fill('*.log');
    await page.getByTestId('sync-delete').check();
    const before = await keys(page);
    await page.getByTestId('sync-preview').click();

    const summary = page.getByTestId('sync-summary');
    await summary.waitFor(WAIT);
    assert.match((await summary.textContent()) ?? '', /upload 2 files \(2\.5 KiB\)/);
    assert.match((await summary.textContent()) ?? '', /delete 3 files/);
    assert.match((await page.getByTestId('sync-deletes').textContent()) ?? '', /3 files \(12\.6 MiB\) will be deleted from\s+ferry\/photos\//);
    const deleted = await page.locator('[data-testid="sync-item"][data-action="delete"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
    assert.deepEqual(deleted, ['2025/ferry-deck.jpg', 'harbour-at-dawn.jpg', 'lighthouse.jpg']);
    const uploads = await page.locator('[data-testid="sync-item"][data-action="upload"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path')));
    assert.deepEqual(uploads, ['css/main.css', 'index.html']);
    assert.equal(await page.getByTestId('sync-run').textContent(), 'Sync and delete 3');
    assert.deepEqual(await keys(page), before, 'a preview changes nothing');
    assert.equal(await page.getByTestId('transfer-row').count(), 0, 'a preview starts no transfer');

    // The deletes are confirmed first; cancelling leaves everything as it was.
    await page.getByTestId('sync-run').click();
    const confirm = page.getByRole('dialog', { name: 'Delete 3 files?' });
    await confirm.waitFor({ state: 'visible', ...WAIT });
    await confirm.getByTestId('confirm-cancel').click();
    await confirm.waitFor({ state: 'hidden', ...WAIT });
    assert.deepEqual(await keys(page), before);
    await page.getByTestId('sync-run').click();
    await confirm.getByTestId('confirm-ok').click();
    await dialog.waitFor({ state: 'hidden', ...WAIT });

    await page.getByTestId('notice').filter({ hasText: 'Sync finished: 2 files (2.5 KiB) transferred, 3 deleted' }).waitFor(WAIT);
    const after = await keys(page);
    assert.deepEqual(after.filter((/** @type {string} */ k) => k.startsWith('photos/')), ['photos/css/main.css', 'photos/index.html']);
    await transferRow(page, 'index.html').waitFor(WAIT);
    await page.locator('[data-testid="object-row"][data-key="photos/index.html"]').waitFor(WAIT);

    // The pair is kept, with what its run did.
    await page.getByTestId('syncs-button').click();
    const pair = page.getByTestId('sync-pair');
    await pair.waitFor(WAIT);
    assert.equal(await pair.count(), 1);
    assert.equal(await pair.getByTestId('sync-pair-route').textContent(), '/home/you/site → ferry/photos/');
    assert.match((await pair.getByTestId('sync-pair-last-run').textContent()) ?? '', /Last run .*2 files \(2\.5 KiB\) transferred, 3 deleted/);
    await app.close();
  });

  it("shows a running sync's overall progress above its transfers, until it ends", async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(async (mib) => {
      const m = window.__ferryMock;
      m.setSpeed(mib);
      m.setLocalFolder('/home/you/big', { 'a.bin': { size: mib }, 'b.bin': { size: mib } });
      const pair = { id: '', account: 'local', direction: 'upload', localPath: '/home/you/big', bucket: 'ferry', prefix: 'big/', compare: 'sizeAndTime', delete: false, exclude: [], lastRun: null };
      await m.runSync((await m.previewSync(pair)).planId, true);
    }, MIB);
    await page.waitForFunction(() => window.__ferryMock.objectKeys('local', 'ferry').includes('big/b.bin'), undefined, WAIT);
    // Three files to send now (two changed, one new), and the clock held so the run stays under way.
    await page.evaluate((mib) => {
      const m = window.__ferryMock;
      const later = Date.now() + 60_000;
      m.setLocalFolder('/home/you/big', { 'a.bin': { size: 2 * mib, mtime: later }, 'b.bin': { size: 2 * mib, mtime: later }, 'c.bin': { size: 2 * mib } });
      m.holdClock();
    }, MIB);
    await page.getByTestId('syncs-button').click();
    await page.getByTestId('sync-pair').getByTestId('sync-again').click();
    await page.keyboard.press('Escape');

    const run = page.getByTestId('sync-progress');
    await run.filter({ hasText: '0 of 3 files · 0 B of 6.0 MiB' }).waitFor(WAIT);
    assert.match((await run.textContent()) ?? '', /Sync \/home\/you\/big → ferry\/big\//);
    const bar = run.getByTestId('sync-progress-bar');
    assert.equal(await bar.getAttribute('aria-valuenow'), '0');
    // Half of the bytes: the bar and the words follow the transfers' own progress.
    await page.evaluate(() => window.__ferryMock.advance(1000));
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="sync-progress-bar"]')?.getAttribute('aria-valuenow')) >= 40, undefined, WAIT);
    const now = Number(await bar.getAttribute('aria-valuenow'));
    assert.ok(now > 0 && now < 100, `${now}%`);
    assert.match((await run.getByTestId('sync-progress-text').textContent()) ?? '', /of 3 files · [\d.]+ MiB of 6\.0 MiB/);
    // The run ends: its bar goes, its transfers stay listed.
    await page.evaluate(() => window.__ferryMock.releaseClock());
    await run.waitFor({ state: 'detached', ...WAIT });
    await transferRow(page, 'c.bin').waitFor(WAIT);
    await app.close();
  });

  it('syncs a saved pair again in one click, and previews first when the plan deletes', async () => {
    const app = await openApp();
    const { page } = app;
    await page.evaluate(async () => {
      const m = window.__ferryMock;
      m.setLocalFolder('/home/you/site', { 'index.html': { size: 2048 } });
      const pair = { id: '', account: 'local', direction: 'upload', localPath: '/home/you/site', bucket: 'ferry', prefix: 'site/', compare: 'sizeAndTime', delete: true, exclude: [], lastRun: null };
      await m.runSync((await m.previewSync(pair)).planId, true);
      // The folder changes: one file bigger and newer, one new.
      m.setLocalFolder('/home/you/site', { 'index.html': { size: 4096, mtime: Date.now() + 60_000 }, 'about.html': { size: 1024 } });
    });
    await page.waitForFunction(() => window.__ferryMock.objectKeys('local', 'ferry').includes('site/index.html'), undefined, WAIT);
    await page.getByTestId('syncs-button').click();
    const pair = page.getByTestId('sync-pair');
    await pair.getByTestId('sync-pair-last-run').filter({ hasText: '1 file (2.0 KiB) transferred' }).waitFor(WAIT);

    await pair.getByTestId('sync-again').click();
    await pair.getByTestId('sync-pair-last-run').filter({ hasText: '2 files (5.0 KiB) transferred' }).waitFor(WAIT);
    assert.equal(await page.getByTestId('sync-dialog').isVisible(), false, 'no preview without deletes');
    const sizes = await page.evaluate(async () => {
      /** @type {[string, number][]} */
      const out = [];
      await window.__ferryMock.listObjects('local', 'ferry', 'site/', (/** @type {{objects: {key: string, size: number}[]}} */ page) => {
        for (const o of page.objects) out.push([o.key, o.size]);
      }).done;
      return out;
    });
    assert.deepEqual(sizes, [['site/about.html', 1024], ['site/index.html', 4096]]);

    // A file gone from the folder: "Sync again" shows the delete and waits.
    await page.evaluate(() => window.__ferryMock.setLocalFolder('/home/you/site', { 'index.html': { size: 4096, mtime: Date.now() - 86_400_000 } }));
    await pair.getByTestId('sync-again').click();
    const dialog = page.getByTestId('sync-dialog');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    assert.deepEqual(
      await page.locator('[data-testid="sync-item"][data-action="delete"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-path'))),
      ['about.html'],
    );
    assert.equal(await page.getByTestId('sync-run').textContent(), 'Sync and delete 1');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', ...WAIT });
    assert.ok((await keys(page)).includes('site/about.html'), 'nothing was deleted');

    // Removing the pair forgets it; the files stay.
    await pair.getByTestId('sync-remove').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('sync-pairs-empty').waitFor(WAIT);
    assert.ok((await keys(page)).includes('site/index.html'));
    await app.close();
  });
});

/**
 * Puts the window in a representative state for the screenshots: transfers running, queued, paused,
 * failed and done, then stops the clock so light and dark show the same moment.
 * @param {import('playwright-core').Page} page
 */
async function stageTransfers(page) {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.evaluate(async (mib) => {
    const m = window.__ferryMock;
    m.holdClock();
    m.setSpeed(9.4 * mib);
    const files = [
      ['/home/you/Pictures/crew-photo.jpg', 12 * mib],
      ['/home/you/Documents/contracts.zip', 96 * mib],
      ['/home/you/Videos/keynote-2026.mov', 2300 * mib],
      ['/home/you/Pictures/harbour-panorama.tif', 412 * mib],
      ['/home/you/Music/field-recordings.flac', 780 * mib],
    ];
    for (const [p, s] of files) m.addLocalFile(p, s);
    await m.uploadPaths('local', 'ferry', 'photos/', ['/home/you/Pictures/crew-photo.jpg']);
    m.advance(2000);
    m.failNext('network', 'Connection to 127.0.0.1:9000 reset after 5 tries');
    await m.uploadPaths('local', 'ferry', '', files.slice(1).map(([p]) => p));
    m.advance(6000);
    const panorama = m.transferList().find((/** @type {{name: string}} */ t) => t.name === 'harbour-panorama.tif');
    await m.pause(panorama.id);
    m.advance(3000);
    await m.download('local', 'ferry', ['launch-video.mkv'], [], '/home/you/Downloads');
    m.advance(1500);
  }, MIB);
  await page.getByTestId('transfer-row').nth(5).waitFor(WAIT);
  await page.locator('[data-testid="transfer-row"][data-state="failed"]').waitFor(WAIT);
  await page.locator('[data-testid="transfer-row"][data-state="paused"]').waitFor(WAIT);
  await page.locator('[data-testid="transfer-row"][data-state="completed"]').first().waitFor(WAIT);
  // One more progress batch now that every row is known, so each running row shows its speed.
  await page.evaluate(() => window.__ferryMock.advance(100));
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="transfer-row"][data-state="running"] [data-testid="transfer-speed"]')].every((e) => /MiB/.test(e.textContent ?? '')),
    undefined,
    WAIT,
  );
  await page.mouse.move(640, 60);
}
