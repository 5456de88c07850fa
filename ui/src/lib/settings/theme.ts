// Applies the theme: data-theme on <html> always holds what is shown ("light" or "dark"), resolved from
// the system's preference when the setting is "system" and following it as it changes. The choice is
// also remembered locally so the next start paints the right colours before settings arrive.
import type { Theme } from '../backend/types';

const STORAGE_KEY = 'ferry.theme';
let media: MediaQueryList | null = null;
let current: Theme = 'system';

export function resolveTheme(theme: Theme, systemDark: boolean): 'light' | 'dark' {
  if (theme === 'system') return systemDark ? 'dark' : 'light';
  return theme;
}

function paint(): void {
  const shown = resolveTheme(current, media?.matches ?? false);
  const root = document.documentElement;
  root.dataset.theme = shown;
  root.dataset.themePreference = current;
  root.style.colorScheme = shown;
}

export function applyTheme(theme: Theme): void {
  current = theme;
  if (!media && typeof window.matchMedia === 'function') {
    media = window.matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', paint);
  }
  paint();
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage can be unavailable (private mode); the setting itself lives in the backend.
  }
}

/** The theme chosen last time, for the first paint. */
export function rememberedTheme(): Theme {
  try {
    const t = localStorage.getItem(STORAGE_KEY);
    if (t === 'light' || t === 'dark' || t === 'system') return t;
  } catch {
    // See applyTheme.
  }
  return 'system';
}
