// Everything the components share, created once in App.svelte and read with getApp().
import { createContext } from 'svelte';
import type { AccountsState } from './accounts/accounts.svelte';
import type { Backend } from './backend/types';
import type { BrowserState } from './browse/browser.svelte';
import type { LinkState } from './links/links.svelte';
import type { SettingsState } from './settings/settings.svelte';
import type { SyncState } from './sync/sync.svelte';
import type { TransfersState } from './transfers/transfers.svelte';
import type { Announcer } from './ui/announcer.svelte';
import type { MenuState } from './ui/menu.svelte';
import type { NoticesState } from './ui/notices.svelte';
import type { WatchedFoldersState } from './watch/watched.svelte';

export interface App {
  backend: Backend;
  accounts: AccountsState;
  browser: BrowserState;
  transfers: TransfersState;
  settings: SettingsState;
  notices: NoticesState;
  links: LinkState;
  watched: WatchedFoldersState;
  sync: SyncState;
  /** Ferry's context menu (one for the window). */
  menu: MenuState;
  /** Completions and failures said to a screen reader. */
  announcer: Announcer;
}

export const [getApp, setApp] = createContext<App>();
