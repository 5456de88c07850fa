// The settings as the backend keeps them, with the theme applied as soon as it is known or changed.
import { messageOf } from '../backend/errors';
import type { Backend, Settings } from '../backend/types';
import { DEFAULT_SETTINGS } from './form';
import { applyTheme } from './theme';

export class SettingsState {
  readonly #backend: Backend;
  current = $state.raw<Settings>(DEFAULT_SETTINGS);
  error = $state<string | null>(null);

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  async load(): Promise<void> {
    try {
      this.current = await this.#backend.getSettings();
      this.error = null;
      applyTheme(this.current.theme);
    } catch (e) {
      this.error = messageOf(e);
    }
  }

  /** Saves; the backend answers with what it kept, which becomes current. */
  async save(settings: Settings): Promise<Settings> {
    this.current = await this.#backend.setSettings(settings);
    applyTheme(this.current.theme);
    return this.current;
  }
}
