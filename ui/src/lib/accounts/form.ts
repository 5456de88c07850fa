// The "Add account" form: what a person typed, checked before anything is sent, and turned into the
// NewAccount the backend takes. Also the words for where an account's secret lives.
import type { Account, AccountDefaults, NewAccount } from '../backend/types';

export interface AccountForm {
  name: string;
  endpoint: string;
  region: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionOnly: boolean;
}

export type AccountErrors = Partial<Record<keyof AccountForm, string>>;

export function emptyAccountForm(): AccountForm {
  return { name: '', endpoint: '', region: '', pathStyle: false, accessKeyId: '', secretAccessKey: '', sessionOnly: false };
}

export function accountProblems(f: AccountForm, existingNames: readonly string[]): AccountErrors {
  const errors: AccountErrors = {};
  const name = f.name.trim();
  if (name === '') errors.name = 'Give the account a name.';
  else if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    errors.name = 'Use letters, digits, dots, hyphens and underscores (up to 64), starting with a letter or digit.';
  } else if (existingNames.includes(name)) errors.name = `An account named "${name}" already exists.`;
  const endpoint = f.endpoint.trim();
  if (endpoint !== '') {
    let url: URL | null = null;
    try {
      url = new URL(endpoint);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') {
      errors.endpoint = 'Enter a URL such as https://s3.example.com, or leave it empty for AWS.';
    }
  }
  if (f.region.trim() !== '' && !/^[a-z0-9-]+$/.test(f.region.trim())) {
    errors.region = 'A region looks like us-east-1 (or "auto" for R2).';
  }
  if (f.accessKeyId.trim() === '') errors.accessKeyId = 'Enter the access key ID.';
  if (f.secretAccessKey === '') errors.secretAccessKey = 'Enter the secret access key.';
  return errors;
}

export function toNewAccount(f: AccountForm, sessionOnly = f.sessionOnly): NewAccount {
  const endpoint = f.endpoint.trim().replace(/\/+$/, '');
  const region = f.region.trim();
  return {
    name: f.name.trim(),
    endpoint: endpoint === '' ? null : endpoint,
    region: region === '' ? null : region,
    pathStyle: f.pathStyle,
    accessKeyId: f.accessKeyId.trim(),
    secretAccessKey: f.secretAccessKey,
    sessionOnly,
  };
}

/** Where the account's secret lives, in words. */
export function secretLabel(a: Account): string {
  if (a.kind === 'local') return 'Built in: keys kept in Ferry’s own folder';
  if (a.kind === 'aws_profile') return `From the AWS profile “${a.profile ?? a.name}” (read-only)`;
  switch (a.secret) {
    case 'keychain':
      return 'Secret in the system keychain';
    case 'session':
      return 'Secret kept for this session only';
    default:
      return 'No secret stored';
  }
}

/** Where the account points, in words. */
export function endpointLabel(a: Account): string {
  if (a.kind === 'local') return 'On this computer (127.0.0.1)';
  const where = a.endpoint ?? 'AWS S3';
  return a.region ? `${where} · ${a.region}` : where;
}

/** What to fix in an account's upload defaults before saving them, or null. */
export function defaultsProblem(d: AccountDefaults): string | null {
  if (d.sseKmsKeyId?.trim() && d.sse !== 'aws:kms') return 'A KMS key goes with aws:kms encryption; choose it, or clear the key.';
  return null;
}
