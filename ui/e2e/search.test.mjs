// Search below a folder with size and date bounds, against the mock backend: only objects within them
// arrive, the chip says the bounds, and a bound that is not one is said without searching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WAIT, openApp, useBrowser } from './app.mjs';

useBrowser();

/** @param {import('playwright-core').Page} page */
const shownKeys = (page) =>
  page.locator('[data-testid="object-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')).sort());

/** YYYY-MM-DD of the day `days` ago, local time. @param {number} days */
function daysAgo(days) {
  const d = new Date(Date.now() - days * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

describe('Search with bounds', () => {
  it('keeps only the objects within the size and date bounds, and says a wrong bound instead of searching', async () => {
    const app = await openApp();
    const { page } = app;
    await page.locator('[data-testid="object-row"][data-key="README.txt"]').waitFor(WAIT);
    await page.getByTestId('search-options').locator('summary').click();

    // A size that is not one: said, and nothing searched.
    await page.getByTestId('search-min-size').fill('huge');
    await page.getByTestId('filter').fill('*');
    await page.getByTestId('search-below').click();
    await page.getByTestId('notice').filter({ hasText: '“huge” is not a size' }).waitFor(WAIT);
    assert.equal(await page.getByTestId('search-chip').count(), 0);

    // Over 4 MiB, at every level below: the video, the backup and two photos (not the 3.1 MiB one).
    await page.getByTestId('search-min-size').fill('4 MiB');
    await page.getByTestId('search-below').click();
    await page.getByTestId('search-chip').filter({ hasText: 'at least 4 MiB' }).waitFor(WAIT);
    await page.locator('[data-testid="object-row"][data-key="photos/2025/ferry-deck.jpg"]').waitFor(WAIT);
    assert.deepEqual(await shownKeys(page), ['backups/site-2026-03-01.tar.gz', 'launch-video.mkv', 'photos/2025/ferry-deck.jpg', 'photos/harbour-at-dawn.jpg']);

    // And modified within the last 10 days: the old photo and the backup drop out.
    await page.getByTestId('end-search').click();
    await page.getByTestId('search-after').fill(daysAgo(10));
    await page.getByTestId('search-before').fill(daysAgo(0));
    await page.getByTestId('filter').fill('*');
    await page.getByTestId('search-below').click();
    await page.getByTestId('search-chip').filter({ hasText: `modified from ${daysAgo(10)}` }).waitFor(WAIT);
    await page.locator('[data-testid="object-row"][data-key="launch-video.mkv"]').waitFor(WAIT);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="object-row"]').length === 2, undefined, WAIT);
    assert.deepEqual(await shownKeys(page), ['launch-video.mkv', 'photos/harbour-at-dawn.jpg']);
    await app.close();
  });
});
