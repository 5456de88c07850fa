// The keyboard and Ferry's own context menu, in headless Chromium against the mock backend: one Tab
// stop per list with arrows inside it, each shortcut, the menus on rows and on empty space, and where the
// focus goes after opening a folder, deleting, and closing a menu or a dialog.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, dropFiles, openApp, transferRow, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page */
const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
/** @param {import('playwright-core').Page} page */
const activeKey = (page) => page.getByTestId('browser-rows').locator('[data-active="true"] [data-key]').getAttribute('data-key');
/** @param {import('playwright-core').Page} page */
const menuActions = (page) => page.getByTestId('context-menu').getByTestId('menu-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
/** @param {import('playwright-core').Page} page @param {string} key */
const row = (page, key) => page.locator(`[data-testid="browser-rows"] [data-key="${key}"]`);
/** The list's focus, waited for: the grid itself, or (on a timeout) what had it instead. @param {import('playwright-core').Page} page */
async function listHasFocus(page, testid = 'browser-rows') {
  await page.waitForFunction((id) => document.activeElement?.getAttribute('data-testid') === id, testid, WAIT).catch(() => {});
  assert.equal(await focusedTestId(page), testid, 'the list has the focus');
}

describe('The keyboard and the context menu', () => {
  it('never shows the webview\'s menu: right-click anywhere is Ferry\'s, or nothing', async () => {
    const app = await openApp();
    const { page } = app;
    // A contextmenu event is cancelled wherever it lands, so the webview's Back/Forward/Reload never shows.
    const cancelled = await page.evaluate(() =>
      ['[data-testid="app"]', 'aside', 'h2', '[data-testid="filter"]', '[data-testid="transfers-panel"]', '[data-testid="upload-button"]', '[data-key="README.txt"]'].map(
        (sel) => !document.querySelector(sel)?.dispatchEvent(new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: 300, clientY: 300 })),
      ),
    );
    assert.deepEqual(cancelled, [true, true, true, true, true, true, true]);
    await page.keyboard.press('Escape');
    await app.close();
  });

  it('opens Ferry\'s menu on an object, a folder, a selection and empty space; the keyboard drives it', async () => {
    const app = await openApp();
    const { page } = app;
    const menu = page.getByTestId('context-menu');

    await row(page, 'README.txt').click({ button: 'right' });
    await menu.waitFor(WAIT);
    assert.deepEqual(await menuActions(page), ['properties', 'download', 'preview', 'copy-link', 'share-link', 'cut', 'copy', 'duplicate', 'rename', 'move', 'delete']);
    assert.equal(await menu.getAttribute('aria-label'), 'Actions for README.txt');
    // The menu has the focus on its first item; arrows move, Escape closes and the list has the focus again.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'properties');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'download');
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'delete');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);

    // Copy link from the menu puts a link to the object on the clipboard.
    await row(page, 'README.txt').click({ button: 'right' });
    await menu.locator('[data-action="copy-link"]').click();
    await page.waitForFunction(() => (window.__ferryMock.clipboard ?? '').includes('README.txt'), null, WAIT);
    await page.getByTestId('notice').filter({ hasText: 'Copied a link to README.txt, valid for 1 hour.' }).waitFor(WAIT);

    // A folder's menu opens it.
    await row(page, 'photos/').click({ button: 'right' });
    assert.deepEqual(await menuActions(page), ['open', 'download', 'cut', 'copy', 'paste-into', 'duplicate', 'rename', 'move', 'delete']);
    await page.keyboard.press('Enter');
    await page.getByTestId('breadcrumb').filter({ hasText: 'photos' }).waitFor(WAIT);
    await listHasFocus(page);
    await page.keyboard.press('Backspace');
    await row(page, 'README.txt').waitFor(WAIT);

    // Two selected rows: the menu acts on both.
    await row(page, 'README.txt').getByTestId('select-row').check();
    await row(page, 'backups/').getByTestId('select-row').check();
    await row(page, 'backups/').click({ button: 'right' });
    assert.deepEqual(await menuActions(page), ['download', 'cut', 'copy', 'duplicate', 'delete']);
    await menu.locator('[data-action="delete"]').click();
    const confirm = page.locator('[data-testid="confirm-dialog"][open]');
    assert.match((await confirm.textContent()) ?? '', /Delete 1 object and 1 folder\?/);
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);

    // Empty space below the rows: the folder's menu.
    const box = await page.getByTestId('browser-rows').boundingBox();
    assert.ok(box);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height - 10, { button: 'right' });
    await menu.waitFor(WAIT);
    assert.deepEqual(await menuActions(page), ['upload', 'new-folder', 'sync', 'paste', 'select-all', 'refresh']);
    await menu.locator('[data-action="select-all"]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="select-row"]:checked').length === 5, null, WAIT);

    // Shift+F10 opens the current row's menu beside it; Rename puts a field in the row, Escape gives the list the focus back.
    await page.getByTestId('browser-rows').focus();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+F10');
    await menu.waitFor(WAIT);
    assert.equal(await menu.getAttribute('aria-label'), 'Actions for backups');
    await menu.locator('[data-action="rename"]').press('Enter');
    const field = page.getByTestId('rename-field');
    await field.waitFor(WAIT);
    assert.equal(await focusedTestId(page), 'rename-field');
    await page.keyboard.press('Escape');
    await field.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);
    assert.equal(await activeKey(page), 'backups/');
    // The Menu key does the same.
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ContextMenu');
    await menu.waitFor(WAIT);
    assert.equal(await menu.getAttribute('aria-label'), 'Actions for photos');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'open');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);
    await app.close();
  });

  it('opens a menu on a transfer and on the queue\'s empty space', async () => {
    const app = await openApp();
    const { page } = app;
    await dropFiles(page, { '/home/you/slow.iso': 500 }, 2);
    const slow = transferRow(page, 'slow.iso');
    await slow.click({ button: 'right' });
    const menu = page.getByTestId('context-menu');
    assert.deepEqual((await menuActions(page)).slice(0, 2), ['pause', 'cancel']);
    await menu.locator('[data-action="pause"]').click();
    await page.locator('[data-testid="transfer-row"][data-state="paused"]').waitFor(WAIT);
    await slow.click({ button: 'right' });
    assert.deepEqual((await menuActions(page)).slice(0, 2), ['resume', 'cancel']);
    await page.keyboard.press('Escape');

    const list = await page.getByTestId('transfer-list').boundingBox();
    assert.ok(list);
    await page.mouse.click(list.x + list.width / 2, list.y + list.height - 6, { button: 'right' });
    assert.deepEqual(await menuActions(page), ['pause-all', 'resume-all', 'clear-finished']);
    await page.keyboard.press('Escape');
    await app.close();
  });

  it('moves through the objects with one Tab stop and arrows; Enter, Backspace and Alt+Up go in and out', async () => {
    const app = await openApp();
    const { page } = app;
    const list = page.getByTestId('browser-rows');

    // From the filter, Tab reaches the list once; the header's controls follow, then the transfers panel:
    // no row's checkbox or button is a Tab stop.
    await page.getByTestId('filter').focus();
    await page.keyboard.press('Tab');
    assert.equal(await focusedTestId(page), 'browser-rows');
    const stops = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      stops.push(await focusedTestId(page));
    }
    assert.deepEqual(stops.slice(0, 4), ['select-all', 'sort-name', 'sort-size', 'sort-modified']);
    const inRows = await page.evaluate(() => !!document.activeElement?.closest('[data-vindex]'));
    assert.equal(inRows, false, `after the header, Tab leaves the list (it went to ${stops[4]})`);

    // Arrows move the current row (aria-activedescendant) and select it.
    await list.focus();
    await page.keyboard.press('Home');
    assert.equal(await activeKey(page), 'backups/');
    await page.keyboard.press('ArrowDown');
    assert.equal(await activeKey(page), 'photos/');
    const activeId = await list.getAttribute('aria-activedescendant');
    assert.equal(await page.locator(`#${activeId} [data-key]`).getAttribute('data-key'), 'photos/');
    assert.equal(await row(page, 'photos/').getByTestId('select-row').isChecked(), true);
    await page.keyboard.press('Shift+ArrowDown');
    assert.equal(await page.locator('[data-testid="select-row"]:checked').count(), 2, 'Shift+Arrow extends the selection');
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('[data-testid="select-row"]:checked').count(), 0, 'Escape clears it');
    await page.keyboard.press('Space');
    assert.equal(await page.locator('[data-testid="select-row"]:checked').count(), 1, 'Space toggles the current row');
    await page.keyboard.press('End');
    assert.equal(await activeKey(page), 'quarterly-report.pdf');

    // Enter opens a folder; the new folder's list has the focus, not the page.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await row(page, 'photos/lighthouse.jpg').waitFor(WAIT);
    await listHasFocus(page);
    await page.keyboard.press('Home');
    assert.equal(await activeKey(page), 'photos/2025/');
    await page.keyboard.press('Enter');
    await row(page, 'photos/2025/ferry-deck.jpg').waitFor(WAIT);
    await listHasFocus(page);
    // Alt+Up and Backspace go to the enclosing folder.
    await page.keyboard.press('Alt+ArrowUp');
    await row(page, 'photos/lighthouse.jpg').waitFor(WAIT);
    await listHasFocus(page);
    await page.keyboard.press('Backspace');
    await row(page, 'README.txt').waitFor(WAIT);
    await listHasFocus(page);

    // Enter on an object shows its properties; closing them gives the list its focus back.
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    const props = page.locator('[data-testid="properties-dialog"][open]');
    await props.waitFor(WAIT);
    await page.keyboard.press('Escape');
    await props.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);
    await app.close();
  });

  it('selects all, deletes (Cancel first), renames, copies a link and uploads from the keyboard; ? lists the shortcuts', async () => {
    const app = await openApp();
    const { page } = app;
    const list = page.getByTestId('browser-rows');
    await list.focus();

    await page.keyboard.press('Control+A');
    assert.equal(await page.locator('[data-testid="select-row"]:checked').count(), 5);
    await page.keyboard.press('Escape');

    // Delete asks, and the confirmation starts on Cancel: Enter keeps everything.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await activeKey(page), 'README.txt');
    await page.keyboard.press('Delete');
    const confirm = page.locator('[data-testid="confirm-dialog"][open]');
    await confirm.waitFor(WAIT);
    assert.equal(await focusedTestId(page), 'confirm-cancel');
    await confirm.getByTestId('confirm-ok').and(page.locator(':enabled')).waitFor(WAIT);
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached', ...WAIT });
    assert.equal(await row(page, 'README.txt').count(), 1, 'Enter on the confirmation cancelled');
    await listHasFocus(page);
    // Tab reaches Delete; then the row is gone and the list keeps the focus.
    await page.keyboard.press('Delete');
    await confirm.getByTestId('confirm-ok').and(page.locator(':enabled')).waitFor(WAIT);
    await page.keyboard.press('Tab');
    assert.equal(await focusedTestId(page), 'confirm-ok');
    await page.keyboard.press('Enter');
    await row(page, 'README.txt').waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);
    assert.ok(await activeKey(page), 'a row is still current');

    // F2 renames the current row.
    const current = (await activeKey(page)) ?? '';
    await page.keyboard.press('F2');
    const rename = page.getByTestId('rename-field');
    assert.equal(await rename.inputValue(), current.replace(/\/$/, ''));
    assert.equal(await focusedTestId(page), 'rename-field');
    await page.keyboard.press('Escape');
    await rename.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);

    // Ctrl+C copies the current object's link.
    await page.keyboard.press('End');
    await page.keyboard.press('Control+C');
    await page.waitForFunction(() => (window.__ferryMock.clipboard ?? '').includes('quarterly-report.pdf'), null, WAIT);
    // Ctrl+Shift+C opens the link popover, Escape gives the focus back.
    await page.keyboard.press('Control+Shift+C');
    await page.getByTestId('link-popover').waitFor(WAIT);
    await page.keyboard.press('Escape');
    await page.getByTestId('link-popover').waitFor({ state: 'detached', ...WAIT });

    // Ctrl+U uploads the picked files into the folder on screen.
    await list.focus();
    await page.keyboard.press('Control+U');
    await transferRow(page, 'harbour.jpg').waitFor(WAIT);
    await transferRow(page, 'notes.md').waitFor(WAIT);

    // ? shows the shortcuts; Escape closes them and the focus is back where it was.
    await list.focus();
    await page.keyboard.press('?');
    const help = page.locator('[data-testid="shortcuts-dialog"][open]');
    await help.waitFor(WAIT);
    assert.ok((await help.getByTestId('shortcut').count()) > 10);
    assert.match((await help.textContent()) ?? '', /Backspace.*Alt\+↑.*Go to the enclosing folder/);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached', ...WAIT });
    await listHasFocus(page);
    await app.close();
  });

  it('pauses and resumes the current transfer with Space, and cancels it with Delete', async () => {
    const app = await openApp();
    const { page } = app;
    await dropFiles(page, { '/home/you/one.iso': 500, '/home/you/two.iso': 500 }, 2);
    const list = page.getByTestId('transfer-list');
    await list.focus();
    await page.keyboard.press('Home');
    const current = () => list.locator('[data-active="true"] [data-testid="transfer-name"]').textContent();
    const name = await current();
    assert.ok(name === 'one.iso' || name === 'two.iso');
    const it = transferRow(page, name);
    await page.keyboard.press('Space');
    await page.waitForFunction((el) => el?.getAttribute('data-state') === 'paused', await it.elementHandle(), WAIT);
    await page.keyboard.press('Space');
    await page.waitForFunction((el) => el?.getAttribute('data-state') !== 'paused', await it.elementHandle(), WAIT);
    await page.keyboard.press('ArrowDown');
    const other = await current();
    assert.notEqual(other, name);
    await page.keyboard.press('Delete');
    await page.waitForFunction((el) => el?.getAttribute('data-state') === 'cancelled', await transferRow(page, other ?? '').elementHandle(), WAIT);
    await listHasFocus(page, 'transfer-list');
    await app.close();
  });
});
