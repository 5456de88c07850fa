// Accounts in the mock: the built-in local endpoint and an AWS profile to start with; added S3 accounts
// come with two empty buckets. The keychain can be made unavailable, as on a Linux box without a
// Secret Service.
import { backendError } from '../errors';
import type { Account, AccountDefaults, NewAccount } from '../types';
import type { World } from './world';

export class MockAccounts {
  /** When false, saving a secret in the keychain fails like on a Linux box without a secret service. */
  keychainAvailable = true;
  readonly #w: World;
  #accounts: Account[] = [
    { name: 'local', kind: 'local', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true, accessKeyId: 'ferry-local', profile: null, secret: 'none' },
    { name: 'work', kind: 'aws_profile', endpoint: null, region: 'eu-west-1', pathStyle: false, accessKeyId: null, profile: 'work', secret: 'none' },
  ];

  /** Upload defaults by account. */
  readonly #defaults = new Map<string, AccountDefaults>();

  constructor(w: World) {
    this.#w = w;
    w.store.set('local', new Map([['ferry', new Map()]]));
    w.store.set('work', new Map([['work-reports', new Map()]]));
  }

  list(): Account[] {
    return this.#accounts.map((a) => ({ ...a }));
  }

  add(account: NewAccount): Account {
    checkNewAccount(account);
    if (this.#accounts.some((a) => a.name === account.name)) {
      throw backendError('already_exists', `an account named "${account.name}" already exists`);
    }
    if (!account.sessionOnly && !this.keychainAvailable) {
      throw backendError(
        'keychain_unavailable',
        'no system keychain is available (the Secret Service did not answer on D-Bus), so the secret cannot be stored',
      );
    }
    const created: Account = {
      name: account.name,
      kind: 's3',
      endpoint: account.endpoint,
      region: account.region,
      pathStyle: account.pathStyle,
      accessKeyId: account.accessKeyId,
      profile: null,
      secret: account.sessionOnly ? 'session' : 'keychain',
    };
    this.#accounts.push(created);
    this.#w.store.set(account.name, new Map([['backups', new Map()], ['media', new Map()]]));
    return { ...created };
  }

  remove(name: string): void {
    const a = this.#accounts.find((x) => x.name === name);
    if (!a) throw backendError('not_found', `there is no account named "${name}"`);
    if (a.kind !== 's3') throw backendError('invalid_input', `the account "${name}" cannot be removed from Ferry`);
    this.#accounts = this.#accounts.filter((x) => x.name !== name);
    this.#defaults.delete(name);
    this.#w.store.delete(name);
  }

  defaults(name: string): AccountDefaults {
    this.#find(name);
    return { ...(this.#defaults.get(name) ?? { storageClass: null, sse: null, sseKmsKeyId: null, cacheControl: null }) };
  }

  /** Keeps upload defaults like the engine: blanks unset, an encryption S3 does not know refused. */
  setDefaults(name: string, d: AccountDefaults): AccountDefaults {
    this.#find(name);
    const blank = (v: string | null) => (v && v.trim() ? v.trim() : null);
    const kept: AccountDefaults = { storageClass: blank(d.storageClass), sse: blank(d.sse), sseKmsKeyId: blank(d.sseKmsKeyId), cacheControl: blank(d.cacheControl) };
    if (kept.sse && !['AES256', 'aws:kms'].includes(kept.sse)) throw backendError('invalid_input', `\`${kept.sse}\` is not a server-side encryption`);
    if (kept.sseKmsKeyId && kept.sse !== 'aws:kms') throw backendError('invalid_input', '--sse-kms-key-id names a KMS key, which needs --sse aws:kms');
    this.#defaults.set(name, kept);
    return { ...kept };
  }

  #find(name: string): Account {
    const a = this.#accounts.find((x) => x.name === name);
    if (!a) throw backendError('not_found', `there is no account named "${name}"`);
    return a;
  }

  /** The number of buckets, or the errors a wrong endpoint or secret gets. */
  testConnection(account: NewAccount): number {
    checkNewAccount(account);
    if (account.endpoint?.includes('unreachable')) {
      throw backendError('network', `could not connect to ${account.endpoint}: connection refused`);
    }
    if (account.secretAccessKey === 'wrong') {
      throw backendError('access_denied', 'the server refused the access key or secret (SignatureDoesNotMatch)');
    }
    return 2;
  }
}

function checkNewAccount(a: NewAccount): void {
  if (a.name.trim() === '') throw backendError('invalid_input', 'an account needs a name');
  if (a.accessKeyId.trim() === '' || a.secretAccessKey === '') {
    throw backendError('invalid_input', 'an access key id and a secret access key are needed');
  }
}
