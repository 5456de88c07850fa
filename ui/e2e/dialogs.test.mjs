// Each dialog's focus, in headless Chromium against the mock backend: it opens on its safe default
// (a field, or a harmless button; never the × and never the confirming button of a delete), Tab and
// Shift+Tab go round inside it, and when it closes the focus is back on what opened it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, failUpload, openApp, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page */
const focused = (page) =>
  page.evaluate(() => {
    const a = document.activeElement;
    return { testid: a?.getAttribute('data-testid') ?? null, text: (a?.textContent ?? '').trim(), inDialog: !!a?.closest('dialog[open]') };
  });

/**
 * Opens a dialog from `opener` with the keyboard, checks where the focus starts, that Tab stays inside,
 * and that Escape gives the focus back to the opener.
 * @param {import('playwright-core').Page} page
 * @param {import('playwright-core').Locator} opener
 * @param {string} dialog the dialog's test id
 * @param {{ testid?: string, text?: string }} start where the focus must start
 */
async function checkDialog(page, opener, dialog, start) {
  await opener.focus();
  await page.keyboard.press('Enter');
  const d = page.locator(`[data-testid="${dialog}"][open]`);
  await d.waitFor(WAIT);
  const first = await focused(page);
  assert.ok(first.inDialog, `${dialog}: the focus starts inside the dialog`);
  if (start.testid) assert.equal(first.testid, start.testid, `${dialog}: the focus starts on ${start.testid}`);
  if (start.text) assert.equal(first.text, start.text, `${dialog}: the focus starts on "${start.text}"`);
  assert.notEqual(first.testid, 'modal-close', `${dialog}: not on the ×`);
  // Round and round: Tab never leaves the dialog, in either direction.
  const count = await d.evaluate((el) => el.querySelectorAll('button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, [href]').length);
  for (let i = 0; i < count + 2; i++) {
    await page.keyboard.press('Tab');
    assert.ok((await focused(page)).inDialog, `${dialog}: Tab ${i + 1} stays inside`);
  }
  for (let i = 0; i < count + 2; i++) {
    await page.keyboard.press('Shift+Tab');
    assert.ok((await focused(page)).inDialog, `${dialog}: Shift+Tab ${i + 1} stays inside`);
  }
  await page.keyboard.press('Escape');
  await d.waitFor({ state: 'detached', ...WAIT });
  assert.equal(await opener.evaluate((el) => el === document.activeElement), true, `${dialog}: the focus is back on its opener`);
}

describe('Dialogs and the focus', () => {
  it('each dialog starts on its safe default, keeps Tab inside, and gives the focus back', async () => {
    const app = await openApp();
    const { page } = app;
    await checkDialog(page, page.getByTestId('manage-accounts'), 'accounts-dialog', { text: 'Close' });
    await checkDialog(page, page.getByTestId('add-account'), 'add-account-dialog', { testid: 'account-name' });
    await checkDialog(page, page.getByTestId('watched-button'), 'watched-dialog', { text: 'Close' });
    await checkDialog(page, page.getByTestId('syncs-button'), 'sync-pairs-dialog', { text: 'Close' });
    await checkDialog(page, page.getByTestId('settings-button'), 'settings-dialog', { testid: 'setting-concurrent' });
    await checkDialog(page, page.getByTestId('sync-button'), 'sync-dialog', { testid: 'sync-direction-upload' });
    await checkDialog(page, page.getByTestId('shortcuts-button'), 'shortcuts-dialog', { text: 'Close' });
    await checkDialog(page, page.locator('[data-testid="account-item"][data-account="local"]').getByTestId('create-bucket'), 'create-bucket-dialog', { testid: 'bucket-name' });
    const readme = page.locator('[data-testid="object-row"][data-key="README.txt"]');
    await readme.hover();
    await checkDialog(page, readme.getByTestId('properties'), 'properties-dialog', { text: 'Close' });
    await checkDialog(page, readme.getByTestId('rename'), 'relocate-dialog', { testid: 'relocate-input' });
    await readme.getByTestId('select-row').check();
    await checkDialog(page, page.getByTestId('delete-selected'), 'confirm-dialog', { testid: 'confirm-cancel' });
    await app.close();
  });

  it('a delete confirmation answers Enter with Cancel, and × is never the first stop', async () => {
    const app = await openApp();
    const { page } = app;
    const readme = page.locator('[data-testid="object-row"][data-key="README.txt"]');
    await readme.getByTestId('select-row').check();
    await page.getByTestId('delete-selected').click();
    const confirm = page.locator('[data-testid="confirm-dialog"][open]');
    await confirm.getByTestId('confirm-ok').and(page.locator(':enabled')).waitFor(WAIT);
    assert.equal((await focused(page)).testid, 'confirm-cancel');
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'detached', ...WAIT });
    assert.equal(await readme.count(), 1, 'nothing was deleted');
    // The opener (the toolbar's Delete) has the focus again.
    assert.equal((await focused(page)).testid, 'delete-selected');
    await app.close();
  });

  it('the error dialog of a failed transfer starts on Close and gives the focus back to the list', async () => {
    const app = await openApp();
    const { page } = app;
    await failUpload(page, '/home/you/doomed.bin', 'Access denied: the account may not write to ferry/doomed.bin.');
    const list = page.getByTestId('transfer-list');
    await list.focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    const d = page.locator('[data-testid="error-dialog"][open]');
    await d.waitFor(WAIT);
    assert.equal((await focused(page)).text, 'Close');
    await page.keyboard.press('Escape');
    await d.waitFor({ state: 'detached', ...WAIT });
    assert.equal((await focused(page)).testid, 'transfer-list');
    await app.close();
  });
});
