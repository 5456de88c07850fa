// Issue 16's last desktop pieces in headless Chromium against the mock backend: the settings' start-at-
// login switch (saved, reported in words when the login entry cannot be written) and rows dragged out
// of the window, which ask the backend to stage those objects for the platform's drag.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, openApp, transferRow, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page @param {string} key */
const row = (page, key) => page.locator(`[data-testid="browser-rows"] [data-key="${key}"]`);
/** @param {import('playwright-core').Page} page */
const mockSettings = (page) => page.evaluate(() => window.__ferryMock.getSettings());

describe('Start at login', () => {
  it('is off at first; the switch turns it on and off, and a refusal is said without saving', async () => {
    const app = await openApp();
    const { page } = app;
    const open = async () => {
      await page.getByTestId('settings-button').click();
      await page.getByTestId('settings-dialog').waitFor(WAIT);
    };
    const save = async () => {
      await page.getByTestId('settings-save').click();
      await page.getByTestId('settings-dialog').waitFor({ state: 'hidden', ...WAIT });
    };
    const toggle = page.getByTestId('setting-start-at-login');

    await open();
    assert.equal(await toggle.isChecked(), false, 'off by default');
    assert.equal(await page.getByRole('checkbox', { name: /Start Ferry when I log in/ }).count(), 1, 'named for a screen reader');
    await toggle.check();
    await save();
    assert.equal((await mockSettings(page)).startAtLogin, true);

    await open();
    assert.equal(await toggle.isChecked(), true, 'the dialog shows what is saved');
    await toggle.uncheck();
    await save();
    assert.equal((await mockSettings(page)).startAtLogin, false);

    // The login entry cannot be written: the dialog says why and stays open; nothing is saved.
    const why = 'Ferry could not add itself to the programs started at login (Not a directory (os error 20)). Check that ~/.config/autostart can be written to, then try again.';
    await page.evaluate((why) => window.__ferryMock.failCall('setSettings', 'storage', why), why);
    await open();
    await toggle.check();
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-error').filter({ hasText: why }).waitFor(WAIT);
    assert.equal(await page.getByTestId('settings-dialog').isVisible(), true);
    assert.equal((await mockSettings(page)).startAtLogin, false);
    await page.getByTestId('settings-cancel').click();
    await page.getByTestId('settings-dialog').waitFor({ state: 'hidden', ...WAIT });
    await app.close();
  });
});

describe('Dragging objects out of the window', () => {
  /**
   * Presses on `from`, moves a little (a drag), then past the window's left edge.
   * @param {import('playwright-core').Page} page @param {import('playwright-core').Locator} from
   */
  async function dragOut(page, from) {
    const a = await from.boundingBox();
    assert.ok(a);
    await page.mouse.move(a.x + a.width * 0.5, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move(a.x + a.width * 0.5, a.y + a.height / 2 + 12, { steps: 3 });
    await page.mouse.move(-20, a.y + a.height / 2, { steps: 5 });
  }
  /** @param {import('playwright-core').Page} page @returns {Promise<{ account: string, bucket: string, keys: string[], prefixes: string[] }[]>} */
  const dragOuts = (page) => page.evaluate(() => window.__ferryMock.dragOuts);

  it('stages the selected objects and folders for the drop, and the downloads show in Transfers', async () => {
    const app = await openApp();
    const { page } = app;
    await row(page, 'README.txt').getByTestId('select-row').check();
    await row(page, 'photos/').getByTestId('select-row').check();
    await dragOut(page, row(page, 'README.txt'));
    await page.getByTestId('notice').filter({ hasText: 'Dragging 4 files out: each is copied where you drop it once downloaded' }).waitFor(WAIT);
    await page.mouse.up();
    assert.deepEqual(await dragOuts(page), [{ account: 'local', bucket: 'ferry', keys: ['README.txt'], prefixes: ['photos/'] }]);
    await transferRow(page, 'README.txt').waitFor(WAIT);
    await transferRow(page, 'lighthouse.jpg').waitFor(WAIT);
    assert.equal(await page.getByTestId('drag-ghost').count(), 0, 'the in-window drag ended');
    // Nothing moved on the server.
    const keys = await page.evaluate(() => window.__ferryMock.objectKeys('local', 'ferry'));
    assert.ok(keys.includes('README.txt') && keys.includes('photos/lighthouse.jpg'));
    await app.close();
  });

  it('drags the row under the pointer when it is not selected, and says why when the platform cannot', async () => {
    const app = await openApp();
    const { page } = app;
    await dragOut(page, row(page, 'quarterly-report.pdf'));
    await page.mouse.up();
    await page.getByTestId('notice').filter({ hasText: 'Dragging 1 file out' }).waitFor(WAIT);
    assert.deepEqual((await dragOuts(page)).map((d) => d.keys), [['quarterly-report.pdf']]);

    const why = 'Dragging objects out of the window works only on Linux for now: use Download.';
    await page.evaluate((why) => window.__ferryMock.failCall('dragOut', 'invalid_input', why), why);
    await dragOut(page, row(page, 'README.txt'));
    await page.mouse.up();
    await page.getByTestId('notice').filter({ hasText: why }).waitFor(WAIT);
    await app.close();
  });
});
