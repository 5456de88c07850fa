// Issue 14's direct manipulation of the object list, in headless Chromium against the mock backend:
// rename in place (F2), cut/copy/paste, duplicate, and dragging rows onto a folder or a breadcrumb.
// Each checks the objects the mock server holds afterwards, not only the screen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, openApp, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page @param {string} key */
const row = (page, key) => page.locator(`[data-testid="browser-rows"] [data-key="${key}"]`);
/** The ferry bucket's keys on the mock server. @param {import('playwright-core').Page} page */
const keys = (page) => page.evaluate(() => /** @type {string[]} */ (window.__ferryMock.objectKeys('local', 'ferry')));
/** @param {import('playwright-core').Page} page */
const activeKey = (page) => page.getByTestId('browser-rows').locator('[data-active="true"] [data-key]').getAttribute('data-key');
/** @param {import('playwright-core').Page} page */
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid'));

/** Makes `key` the list's current row, from the keyboard. @param {import('playwright-core').Page} page @param {string} key */
async function goTo(page, key) {
  await page.getByTestId('browser-rows').focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 50 && (await activeKey(page)) !== key; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await activeKey(page), key);
}

describe('Direct manipulation of objects', () => {
  it('renames in place with F2: Enter renames, Escape cancels, an existing name is replaced only when asked', async () => {
    const app = await openApp();
    const { page } = app;
    await goTo(page, 'README.txt');
    await page.keyboard.press('F2');
    const field = page.getByTestId('rename-field');
    assert.equal(await field.inputValue(), 'README.txt');
    // The name is selected without its extension, so typing replaces just that.
    assert.deepEqual(await field.evaluate((/** @type {HTMLInputElement} */ el) => [el.selectionStart, el.selectionEnd]), [0, 6]);
    await page.keyboard.type('NOTES');
    await page.keyboard.press('Escape');
    await field.waitFor({ state: 'detached', ...WAIT });
    assert.ok((await keys(page)).includes('README.txt'), 'Escape renamed nothing');
    assert.equal(await focusedTestId(page), 'browser-rows');

    await page.keyboard.press('F2');
    await page.keyboard.type('NOTES');
    await page.keyboard.press('Enter');
    await row(page, 'NOTES.txt').waitFor(WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Renamed README.txt to NOTES.txt.' }).waitFor(WAIT);
    const after = await keys(page);
    assert.ok(after.includes('NOTES.txt') && !after.includes('README.txt'));
    assert.equal(await focusedTestId(page), 'browser-rows');
    assert.equal(await activeKey(page), 'NOTES.txt', 'the renamed row is the current one');

    // Onto a name that exists: asked first, and the question starts on Cancel.
    await page.keyboard.press('F2');
    await field.fill('quarterly-report.pdf');
    await field.press('Enter');
    const ask = page.locator('[data-testid="confirm-dialog"][open]');
    await ask.getByTestId('replace-question').filter({ hasText: 'quarterly-report.pdf already exists' }).waitFor(WAIT);
    assert.equal(await focusedTestId(page), 'confirm-cancel');
    await page.keyboard.press('Enter');
    await ask.waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('notice').filter({ hasText: 'Nothing replaced' }).waitFor(WAIT);
    assert.ok((await keys(page)).includes('NOTES.txt'), 'kept when not confirmed');
    await goTo(page, 'NOTES.txt');
    await page.keyboard.press('F2');
    await field.fill('quarterly-report.pdf');
    await field.press('Enter');
    await ask.getByTestId('confirm-ok').click();
    await row(page, 'NOTES.txt').waitFor({ state: 'detached', ...WAIT });
    const props = await page.evaluate(() => window.__ferryMock.objectProperties('local', 'ferry', 'quarterly-report.pdf'));
    assert.equal(props.size, 2184, 'the renamed object replaced the one that was there');
    await app.close();
  });

  it('cuts and pastes into another folder (a move), copies and pastes a folder, and pastes a copy beside itself', async () => {
    const app = await openApp();
    const { page } = app;
    await goTo(page, 'README.txt');
    await page.keyboard.press('Control+X');
    await page.getByTestId('notice').filter({ hasText: 'Cut README.txt: Ctrl+V in another folder moves it.' }).waitFor(WAIT);
    assert.equal(await row(page, 'README.txt').evaluate((el) => el.classList.contains('cut')), true);
    assert.match((await row(page, 'README.txt').textContent()) ?? '', /, cut/);
    await goTo(page, 'photos/');
    await page.keyboard.press('Enter');
    await row(page, 'photos/lighthouse.jpg').waitFor(WAIT);
    await page.keyboard.press('Control+V');
    await row(page, 'photos/README.txt').waitFor(WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Moved README.txt to ferry/photos/.' }).waitFor(WAIT);
    let now = await keys(page);
    assert.ok(now.includes('photos/README.txt') && !now.includes('README.txt'), 'moved on the server');
    // What was cut is pasted once.
    await page.keyboard.press('Backspace');
    await row(page, 'backups/').waitFor(WAIT);
    await page.keyboard.press('Control+V');
    assert.equal((await keys(page)).filter((k) => k.endsWith('README.txt')).length, 1);

    // A folder copied into another: everything under it, originals kept.
    await goTo(page, 'photos/');
    await page.keyboard.press('Control+C');
    await page.getByTestId('notice').filter({ hasText: 'Copied photos/: Ctrl+V in a folder pastes a copy of it.' }).waitFor(WAIT);
    await goTo(page, 'backups/');
    await page.keyboard.press('Enter');
    await page.getByTestId('breadcrumb').filter({ hasText: 'backups' }).waitFor(WAIT);
    await page.keyboard.press('Control+V');
    await row(page, 'backups/photos/').waitFor(WAIT);
    now = await keys(page);
    const photos = now.filter((k) => k.startsWith('photos/'));
    assert.deepEqual(now.filter((k) => k.startsWith('backups/photos/')).sort(), photos.map((k) => `backups/${k}`).sort());
    // Pasted again where it came from: a copy beside the original.
    await page.keyboard.press('Backspace');
    await row(page, 'photos/').waitFor(WAIT);
    await page.keyboard.press('Control+V');
    await row(page, 'photos copy/').waitFor(WAIT);
    assert.equal((await keys(page)).filter((k) => k.startsWith('photos copy/')).length, photos.length);

    // A folder into itself is refused in words, and nothing moves.
    await goTo(page, 'photos/');
    await page.keyboard.press('Control+X');
    await page.keyboard.press('Enter');
    await row(page, 'photos/lighthouse.jpg').waitFor(WAIT);
    await page.keyboard.press('Control+V');
    await page.getByTestId('notice').filter({ hasText: 'The folder photos cannot go inside itself.' }).waitFor(WAIT);
    await app.close();
  });

  it('pastes into a bucket of another account: a copy keeps the source, a cut folder moves there whole', async () => {
    const app = await openApp();
    const { page } = app;
    /** @param {string} account @param {string} bucket */
    const keysOf = (account, bucket) => page.evaluate(([a, b]) => /** @type {string[]} */ (window.__ferryMock.objectKeys(a, b)), [account, bucket]);
    const work = page.locator('[data-testid="account-item"][data-account="work"] [data-testid="bucket-item"][data-bucket="work-reports"]');
    const ferry = page.locator('[data-testid="account-item"][data-account="local"] [data-testid="bucket-item"][data-bucket="ferry"]');
    await page.locator('[data-testid="account-item"][data-account="work"] [data-testid="account-toggle"]').click();
    await goTo(page, 'README.txt');
    await page.keyboard.press('Control+C');
    await work.click();
    await page.getByTestId('breadcrumb').filter({ hasText: 'work-reports' }).waitFor(WAIT);
    await page.getByTestId('browser-rows').focus();
    await page.keyboard.press('Control+V');
    await row(page, 'README.txt').waitFor(WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Copied README.txt to work-reports/ from local, streamed through Ferry.' }).waitFor(WAIT);
    assert.deepEqual(await keysOf('work', 'work-reports'), ['README.txt']);
    assert.ok((await keys(page)).includes('README.txt'), 'a copy keeps its source');

    await ferry.click();
    await goTo(page, 'photos/');
    const photos = (await keys(page)).filter((k) => k.startsWith('photos/'));
    await page.keyboard.press('Control+X');
    await work.click();
    await row(page, 'README.txt').waitFor(WAIT);
    await page.getByTestId('browser-rows').focus();
    await page.keyboard.press('Control+V');
    await row(page, 'photos/').waitFor(WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Moved photos/ to work-reports/ from local, streamed through Ferry' }).waitFor(WAIT);
    assert.deepEqual((await keysOf('work', 'work-reports')).filter((k) => k.startsWith('photos/')).sort(), [...photos].sort());
    assert.deepEqual((await keys(page)).filter((k) => k.startsWith('photos/')), [], 'moved: gone from the source');
    await app.close();
  });

  it('pastes from the menus, and duplicates with Ctrl+D and from the menu under free names', async () => {
    const app = await openApp();
    const { page } = app;
    const menu = page.getByTestId('context-menu');
    await row(page, 'quarterly-report.pdf').click({ button: 'right' });
    await menu.locator('[data-action="copy"]').click();
    await row(page, 'backups/').click({ button: 'right' });
    await menu.locator('[data-action="paste-into"]').click();
    await page.getByTestId('notice').filter({ hasText: 'Copied quarterly-report.pdf to ferry/backups/.' }).waitFor(WAIT);
    assert.ok((await keys(page)).includes('backups/quarterly-report.pdf'));

    await goTo(page, 'quarterly-report.pdf');
    await page.keyboard.press('Control+D');
    await row(page, 'quarterly-report copy.pdf').waitFor(WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Duplicated quarterly-report.pdf as quarterly-report copy.pdf.' }).waitFor(WAIT);
    await row(page, 'quarterly-report.pdf').click({ button: 'right' });
    await menu.locator('[data-action="duplicate"]').click();
    await row(page, 'quarterly-report copy 2.pdf').waitFor(WAIT);
    const both = await page.evaluate(() => {
      const m = window.__ferryMock;
      return Promise.all(['quarterly-report.pdf', 'quarterly-report copy 2.pdf'].map((k) => m.objectProperties('local', 'ferry', k)));
    });
    assert.equal(both[1].size, both[0].size);
    assert.equal(both[1].contentType, both[0].contentType, 'the copy keeps the content type');

    // The empty space's Paste puts what was copied into the folder on screen.
    await row(page, 'photos/').getByTestId('open-prefix').click();
    await row(page, 'photos/lighthouse.jpg').waitFor(WAIT);
    const box = await page.getByTestId('browser-rows').boundingBox();
    assert.ok(box);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height - 10, { button: 'right' });
    await menu.locator('[data-action="paste"]').click();
    await row(page, 'photos/quarterly-report.pdf').waitFor(WAIT);
    await app.close();
  });

  it('makes a new folder that opens empty and is there once something is pasted into it', async () => {
    const app = await openApp();
    const { page } = app;
    await page.getByTestId('browser-rows').focus();
    await page.keyboard.press('End');
    await page.keyboard.press('Control+C');
    await page.keyboard.press('Control+Shift+N');
    const dialog = page.locator('[data-testid="new-folder-dialog"][open]');
    await dialog.waitFor(WAIT);
    assert.equal(await focusedTestId(page), 'new-folder-name');
    await page.keyboard.type('a/b');
    await page.keyboard.press('Enter');
    await dialog.getByTestId('new-folder-error').filter({ hasText: 'cannot contain "/"' }).waitFor(WAIT);
    await dialog.getByTestId('new-folder-name').fill('drafts');
    await page.keyboard.press('Enter');
    await page.getByTestId('breadcrumb').filter({ hasText: 'drafts' }).waitFor(WAIT);
    await page.getByTestId('browser-empty').waitFor(WAIT);
    assert.equal(await focusedTestId(page), 'browser-rows');
    await page.keyboard.press('Control+V');
    await row(page, 'drafts/quarterly-report.pdf').waitFor(WAIT);
    assert.ok((await keys(page)).includes('drafts/quarterly-report.pdf'));
    await page.keyboard.press('Backspace');
    await row(page, 'drafts/').waitFor(WAIT);
    await app.close();
  });

  it('moves rows by dragging them onto a folder row or a breadcrumb', async () => {
    const app = await openApp();
    const { page } = app;
    /** @param {import('playwright-core').Locator} from @param {import('playwright-core').Locator} onto */
    async function dragOnto(from, onto) {
      const a = await from.boundingBox();
      const b = await onto.boundingBox();
      assert.ok(a && b);
      await page.mouse.move(a.x + a.width * 0.5, a.y + a.height / 2);
      await page.mouse.down();
      await page.mouse.move(a.x + a.width * 0.5, a.y + a.height / 2 + 12, { steps: 3 });
      await page.mouse.move(b.x + Math.min(60, b.width / 2), b.y + b.height / 2, { steps: 5 });
    }
    const ghost = page.getByTestId('drag-ghost');

    // Onto a folder row: the ghost says where, and letting go moves it there.
    await dragOnto(row(page, 'README.txt'), row(page, 'photos/'));
    await ghost.filter({ hasText: 'Move README.txt to ferry/photos/' }).waitFor(WAIT);
    assert.equal(await row(page, 'photos/').evaluate((el) => el.classList.contains('drop-target')), true);
    await page.mouse.up();
    await row(page, 'README.txt').waitFor({ state: 'detached', ...WAIT });
    assert.ok((await keys(page)).includes('photos/README.txt'));

    // A folder onto itself is no target; Escape drops nothing.
    await dragOnto(row(page, 'backups/'), row(page, 'backups/'));
    await ghost.filter({ hasText: /^\s*Move backups\/\s*$/ }).waitFor(WAIT);
    await page.keyboard.press('Escape');
    await ghost.waitFor({ state: 'detached', ...WAIT });
    await page.mouse.up();
    assert.ok((await keys(page)).some((k) => k.startsWith('backups/')));

    // From inside a folder onto the bucket's breadcrumb: back to the root.
    await row(page, 'photos/').getByTestId('open-prefix').click();
    await row(page, 'photos/README.txt').waitFor(WAIT);
    await dragOnto(row(page, 'photos/README.txt'), page.locator('[data-testid="breadcrumb"][data-prefix=""]'));
    await ghost.filter({ hasText: 'Move README.txt to ferry/' }).waitFor(WAIT);
    await page.mouse.up();
    await row(page, 'photos/README.txt').waitFor({ state: 'detached', ...WAIT });
    assert.ok((await keys(page)).includes('README.txt'));
    await app.close();
  });
});
