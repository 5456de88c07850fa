// axe-core over every screen of the app, in the light and the dark theme, in headless Chromium against
// the mock backend: the object browser with transfers in each state, each dialog, the context menu and
// the link popover. No serious or critical violation is allowed (contrast included).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import { WAIT, dropFiles, failUpload, openApp, useBrowser } from './app.mjs';

useBrowser();

/**
 * The serious and critical violations on the page as it is, one line each.
 * @param {import('playwright-core').Page} page
 */
async function violations(page) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1, 2).join(' ').trim()}`));
}

/**
 * Opens a dialog by clicking `opener`, checks it, and closes it with Escape.
 * @param {import('playwright-core').Page} page
 * @param {string} screen
 * @param {import('playwright-core').Locator} opener
 * @param {string} dialog
 * @param {Record<string, string[]>} found
 */
async function checkDialog(page, screen, opener, dialog, found) {
  await opener.click();
  const d = page.locator(`[data-testid="${dialog}"][open]`);
  await d.waitFor(WAIT);
  found[screen] = await violations(page);
  await page.keyboard.press('Escape');
  await d.waitFor({ state: 'detached', ...WAIT });
  // The close event comes a task later than the attribute: its content goes, and the focus is back.
  await page.locator(`[data-testid="${dialog}"] header`).waitFor({ state: 'detached', ...WAIT });
}

for (const theme of /** @type {const} */ (['light', 'dark'])) {
  describe(`Accessibility in the ${theme} theme`, () => {
    it('every screen passes axe-core with no serious or critical violation', async () => {
      const app = await openApp({ colorScheme: theme });
      const { page } = app;
      await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme, WAIT);
      /** @type {Record<string, string[]>} */
      const found = {};

      // Transfers in each state beside the listing: failed, completed, running, paused.
      await failUpload(page, '/home/you/failed.bin', 'Access denied: the bucket policy does not allow PutObject for this key');
      await dropFiles(page, { '/home/you/done.txt': 0.001 }, 2);
      await page.locator('[data-testid="transfer-row"][data-state="completed"]').waitFor(WAIT);
      await dropFiles(page, { '/home/you/running.iso': 900, '/home/you/paused.iso': 900 }, 2);
      const paused = page.getByTestId('transfer-row').filter({ hasText: 'paused.iso' });
      await paused.getByTestId('transfer-pause').click();
      await page.locator('[data-testid="transfer-row"][data-state="paused"]').waitFor(WAIT);
      await page.locator('[data-testid="object-row"][data-key="README.txt"]').getByTestId('select-row').check();
      await page.getByTestId('browser-rows').focus();
      found['object browser and transfers'] = await violations(page);

      await page.locator('[data-testid="object-row"][data-key="README.txt"]').click({ button: 'right' });
      await page.getByTestId('context-menu').waitFor(WAIT);
      found['context menu'] = await violations(page);
      await page.keyboard.press('Escape');

      const readme = page.locator('[data-testid="object-row"][data-key="README.txt"]');
      await readme.hover();
      await readme.getByTestId('copy-link').click();
      await page.getByTestId('link-popover').waitFor(WAIT);
      await page.getByTestId('link-create').click();
      await page.getByTestId('link-copied').waitFor(WAIT);
      found['link popover'] = await violations(page);
      await page.keyboard.press('Escape');

      await checkDialog(page, 'accounts', page.getByTestId('manage-accounts'), 'accounts-dialog', found);
      await checkDialog(page, 'add account', page.getByTestId('add-account'), 'add-account-dialog', found);
      await checkDialog(page, 'watched folders', page.getByTestId('watched-button'), 'watched-dialog', found);
      await checkDialog(page, 'syncs', page.getByTestId('syncs-button'), 'sync-pairs-dialog', found);
      await checkDialog(page, 'settings', page.getByTestId('settings-button'), 'settings-dialog', found);
      await checkDialog(page, 'sync', page.getByTestId('sync-button'), 'sync-dialog', found);
      await checkDialog(page, 'shortcuts', page.getByTestId('shortcuts-button'), 'shortcuts-dialog', found);
      await checkDialog(page, 'new bucket', page.locator('[data-testid="account-item"][data-account="local"]').getByTestId('create-bucket'), 'create-bucket-dialog', found);
      await readme.hover();
      await checkDialog(page, 'properties', readme.getByTestId('properties'), 'properties-dialog', found);
      await readme.hover();
      await checkDialog(page, 'rename', readme.getByTestId('rename'), 'relocate-dialog', found);
      await checkDialog(page, 'delete', page.getByTestId('delete-selected'), 'confirm-dialog', found);
      await checkDialog(page, 'why a transfer failed', page.getByTestId('transfer-error'), 'error-dialog', found);

      await page.getByTestId('browser-rows').focus();
      await page.keyboard.press('Control+Shift+N');
      await page.locator('[data-testid="new-folder-dialog"][open]').waitFor(WAIT);
      found['new folder'] = await violations(page);
      await page.keyboard.press('Escape');
      await page.locator('[data-testid="new-folder-dialog"][open]').waitFor({ state: 'detached', ...WAIT });
      await page.locator('[data-testid="new-folder-dialog"] header').waitFor({ state: 'detached', ...WAIT });
      // Renaming in place, with a name refused (once the closed dialog has given the focus back).
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'browser-rows', undefined, WAIT);
      await page.keyboard.press('F2');
      await page.getByTestId('rename-field').fill('a/b');
      await page.keyboard.press('Enter');
      await page.getByTestId('rename-field-error').waitFor(WAIT);
      found['rename in place'] = await violations(page);
      await page.keyboard.press('Escape');

      // Adding a watched folder, a dialog over a dialog.
      await page.getByTestId('watched-button').click();
      await page.locator('[data-testid="watched-dialog"][open]').getByRole('button', { name: /Add/ }).first().click();
      await page.locator('[data-testid="add-watched-dialog"][open]').waitFor(WAIT);
      found['add watched folder'] = await violations(page);

      const failing = Object.entries(found).filter(([, v]) => v.length > 0);
      assert.deepEqual(failing, [], `serious or critical violations:\n${failing.map(([s, v]) => `${s}:\n  ${v.join('\n  ')}`).join('\n')}`);
      await app.close();
    });
  });
}

describe('The live region', () => {
  it('says completions and failures once, in one sentence, and nothing while bytes move', async () => {
    const app = await openApp();
    const { page } = app;
    const region = page.getByTestId('announcer');
    assert.equal(await region.getAttribute('aria-live'), 'polite');
    assert.equal(await region.getAttribute('role'), 'status');
    // Every change of the region's text is counted from here on.
    await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__said = [];
      const el = document.querySelector('[data-testid="announcer"]');
      new MutationObserver(() => w.__said.push(el?.textContent)).observe(/** @type {Node} */ (el), { childList: true, characterData: true, subtree: true });
    });

    // A big upload moving through many progress batches says nothing until it ends.
    await dropFiles(page, { '/home/you/big.iso': 200 }, 40);
    const big = page.getByTestId('transfer-row').filter({ hasText: 'big.iso' });
    await page.waitForFunction((el) => Number(el?.getAttribute('data-bytes-done')) > 60 * 1024 * 1024, await big.elementHandle(), WAIT);
    assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__said), [], 'no announcement while bytes move');
    await region.filter({ hasText: 'big.iso uploaded.' }).waitFor(WAIT);

    // Three that end together are one sentence.
    await page.evaluate(() => (/** @type {any} */ (window).__said = []));
    await dropFiles(page, { '/home/you/a.txt': 0.01, '/home/you/b.txt': 0.01, '/home/you/c.txt': 0.01 }, 400);
    await region.filter({ hasText: /^3 uploads completed\.$/ }).waitFor(WAIT);
    assert.equal((await page.evaluate(() => /** @type {any} */ (window).__said)).filter((/** @type {string} */ t) => t.trim()).length, 1, 'said once');

    // A failure is said by name.
    await failUpload(page, '/home/you/denied.bin', 'Access denied');
    await region.filter({ hasText: 'denied.bin failed.' }).waitFor(WAIT);
    await app.close();
  });
});

describe('The focus ring', () => {
  for (const theme of /** @type {const} */ (['light', 'dark'])) {
    it(`shows on every control reached with Tab (${theme})`, async () => {
      const app = await openApp({ colorScheme: theme });
      const { page } = app;
      await dropFiles(page, { '/home/you/run.iso': 900 }, 1);
      await page.locator('[data-testid="object-row"][data-key="README.txt"]').getByTestId('select-row').check();
      // From the first control of the window.
      await page.evaluate(() => /** @type {HTMLElement} */ (document.querySelector('button, input, [tabindex="0"]'))?.focus());
      await page.keyboard.press('Shift+Tab');
      /** @type {string[]} */
      const seen = [];
      /** @type {string[]} */
      const without = [];
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press('Tab');
        const stop = await page.evaluate(() => {
          const el = /** @type {HTMLElement} */ (document.activeElement);
          const name = `${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 30)}"`;
          // A list shows its ring on its current row (aria-activedescendant).
          const ringed = el.getAttribute('role') === 'grid' ? el.querySelector('[data-active="true"]') ?? el : el;
          const s = getComputedStyle(/** @type {Element} */ (ringed));
          return { name, ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 };
        });
        // Past the last control the focus leaves the page (body): once round.
        if (seen.includes(stop.name) || stop.name.startsWith('body')) break;
        seen.push(stop.name);
        if (!stop.ring) without.push(stop.name);
      }
      assert.ok(seen.length > 15, `Tab went round ${seen.length} controls: ${seen.join(', ')}`);
      assert.ok(seen.some((s) => s.includes('browser-rows')) && seen.some((s) => s.includes('transfer-list')), 'both lists are Tab stops');
      assert.deepEqual(without, [], 'controls without a visible focus ring');
      await app.close();
    });
  }
});

describe('Notices', () => {
  it('take their own room between the object list and the transfers, covering neither', async () => {
    const app = await openApp();
    const { page } = app;
    const list = page.getByTestId('browser-rows');
    const before = await list.boundingBox();
    await page.locator('[data-testid="object-row"][data-key="README.txt"]').click({ button: 'right' });
    await page.getByTestId('context-menu').locator('[data-action="copy-link"]').click();
    const notice = page.getByTestId('notice').first();
    await notice.waitFor(WAIT);
    const n = await notice.boundingBox();
    const l = await list.boundingBox();
    const t = await page.getByTestId('transfers-panel').boundingBox();
    assert.ok(n && l && t && before);
    assert.ok(n.y >= l.y + l.height - 1, 'below the object list (its header, rows and columns)');
    assert.ok(n.y + n.height <= t.y + 1, 'above the transfers panel');
    assert.ok(l.height < before.height, 'the list made room');
    await app.close();
  });
});
