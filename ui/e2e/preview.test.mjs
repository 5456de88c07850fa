// The preview dialog against the mock backend: a text's first bytes, an image from its link, and a
// type with no preview said as such; nothing is downloaded (no transfer starts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, openApp, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page @param {string} key */
const row = (page, key) => page.locator(`[data-testid="object-row"][data-key="${key}"]`);

describe('Previews', () => {
  it('shows a text, an image and a video without downloading them, and says when a type has none', async () => {
    const app = await openApp();
    const { page } = app;
    const dialog = page.locator('[data-testid="preview-dialog"][open]');

    await row(page, 'README.txt').hover();
    await row(page, 'README.txt').getByTestId('preview-button').click();
    await dialog.getByTestId('preview-text').filter({ hasText: 'line 1 of README.txt' }).waitFor(WAIT);
    assert.match((await dialog.textContent()) ?? '', /text\/plain/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...WAIT });

    // A video plays from its link; an archive has no preview, and says so. From the rows' own menu.
    await row(page, 'launch-video.mkv').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Preview' }).click();
    const video = dialog.locator('video[data-testid="preview-media"]');
    await video.waitFor(WAIT);
    assert.match((await video.getAttribute('src')) ?? '', /^data:video\/x-matroska/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...WAIT });
    await page.locator('[data-testid="prefix-row"][data-key="backups/"]').getByTestId('open-prefix').click();
    await row(page, 'backups/site-2026-03-01.tar.gz').click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Preview' }).click();
    const none = dialog.getByTestId('preview-none');
    await none.waitFor(WAIT);
    assert.match((await none.textContent()) ?? '', /application\/gzip has no preview; download it/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', ...WAIT });
    await page.getByTestId('go-up').click();

    await page.locator('[data-testid="prefix-row"][data-key="photos/"]').getByTestId('open-prefix').click();
    await row(page, 'photos/lighthouse.jpg').hover();
    await row(page, 'photos/lighthouse.jpg').getByTestId('preview-button').click();
    const image = dialog.getByTestId('preview-image');
    await image.waitFor(WAIT);
    assert.match((await image.getAttribute('src')) ?? '', /^data:image\/svg\+xml,/);
    assert.equal(await image.getAttribute('alt'), 'lighthouse.jpg');
    await page.waitForFunction(() => {
      const img = /** @type {HTMLImageElement | null} */ (document.querySelector('[data-testid="preview-image"]'));
      return !!img && img.complete && img.naturalWidth > 0;
    }, undefined, WAIT);
    assert.equal(await page.getByTestId('transfer-row').count(), 0, 'a preview downloads nothing');
    // A panel docked at the window's right edge, at full height.
    const box = await page.getByTestId('preview-dialog').boundingBox();
    const view = page.viewportSize();
    assert.ok(box && view && Math.abs(box.x + box.width - view.width) <= 1 && box.height >= view.height - 1, JSON.stringify({ box, view }));
    await app.close();
  });
});
