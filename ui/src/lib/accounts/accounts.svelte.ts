// Accounts and their buckets, as shown in the sidebar. Buckets are listed when an account is opened.
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import { messageOf } from '../backend/errors';
import type { Account, AccountDefaults, Backend, NewAccount } from '../backend/types';

export interface BucketList {
  loading: boolean;
  names: string[];
  error: string | null;
}

export class AccountsState {
  readonly #backend: Backend;
  accounts = $state.raw<Account[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  readonly buckets = new SvelteMap<string, BucketList>();
  readonly expanded = new SvelteSet<string>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  async load(): Promise<void> {
    try {
      this.accounts = await this.#backend.listAccounts();
      this.error = null;
    } catch (e) {
      this.error = messageOf(e);
    } finally {
      this.loaded = true;
    }
  }

  get names(): string[] {
    return this.accounts.map((a) => a.name);
  }

  find(name: string): Account | undefined {
    return this.accounts.find((a) => a.name === name);
  }

  async loadBuckets(account: string): Promise<string[]> {
    const previous = this.buckets.get(account);
    this.buckets.set(account, { loading: true, names: previous?.names ?? [], error: null });
    try {
      const names = await this.#backend.listBuckets(account);
      this.buckets.set(account, { loading: false, names, error: null });
      return names;
    } catch (e) {
      this.buckets.set(account, { loading: false, names: [], error: messageOf(e) });
      return [];
    }
  }

  /** The account's buckets: those listed already, else listed now. */
  async bucketNames(account: string): Promise<string[]> {
    const known = this.buckets.get(account)?.names ?? [];
    return known.length > 0 ? known : this.loadBuckets(account);
  }

  async expand(account: string): Promise<void> {
    this.expanded.add(account);
    if (!this.buckets.get(account)?.names.length) await this.loadBuckets(account);
  }

  collapse(account: string): void {
    this.expanded.delete(account);
  }

  testConnection(account: NewAccount): Promise<number> {
    return this.#backend.testConnection(account);
  }

  /** Adds the account (rejects with the backend's {kind, message}, e.g. keychain_unavailable). */
  async add(account: NewAccount): Promise<Account> {
    const added = await this.#backend.addAccount(account);
    await this.load();
    return added;
  }

  async remove(name: string): Promise<void> {
    await this.#backend.removeAccount(name);
    this.buckets.delete(name);
    this.expanded.delete(name);
    await this.load();
  }

  defaults(account: string): Promise<AccountDefaults> {
    return this.#backend.accountDefaults(account);
  }

  setDefaults(account: string, defaults: AccountDefaults): Promise<AccountDefaults> {
    return this.#backend.setAccountDefaults(account, defaults);
  }

  async createBucket(account: string, bucket: string): Promise<void> {
    await this.#backend.createBucket(account, bucket);
    await this.loadBuckets(account);
  }
}
