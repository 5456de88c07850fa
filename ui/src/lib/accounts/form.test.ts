import { describe, expect, it } from 'vitest';
import type { Account } from '../backend/types';
import { accountProblems, defaultsProblem, emptyAccountForm, endpointLabel, secretLabel, toNewAccount } from './form';

const filled = { ...emptyAccountForm(), pathStyle: true, name: 'r2', endpoint: 'https://acc.r2.example.com/', region: 'auto', accessKeyId: ' AK ', secretAccessKey: 'SK' };

describe('accountProblems', () => {
  it('accepts a complete form', () => {
    expect(accountProblems(filled, ['local'])).toEqual({});
  });
  it('accepts AWS (no endpoint, no region)', () => {
    expect(accountProblems({ ...filled, endpoint: '', region: '' }, [])).toEqual({});
  });
  it('names every missing or wrong field', () => {
    const e = accountProblems({ ...emptyAccountForm(), endpoint: 'ftp://x', region: 'US East' }, []);
    expect(Object.keys(e).sort()).toEqual(['accessKeyId', 'endpoint', 'name', 'region', 'secretAccessKey']);
  });
  it('refuses a name already taken', () => {
    expect(accountProblems({ ...filled, name: 'local' }, ['local']).name).toMatch(/already exists/);
  });
});

describe('toNewAccount', () => {
  it('trims, drops a trailing slash and turns empty fields into null', () => {
    expect(toNewAccount(filled)).toEqual({
      name: 'r2', endpoint: 'https://acc.r2.example.com', region: 'auto', pathStyle: true, accessKeyId: 'AK',
      secretAccessKey: 'SK', sessionOnly: false,
    });
    expect(toNewAccount({ ...filled, endpoint: ' ', region: '' }, true)).toMatchObject({ endpoint: null, region: null, sessionOnly: true });
  });
});

describe('secretLabel', () => {
  const base: Account = { name: 'x', kind: 's3', endpoint: null, region: null, pathStyle: false, accessKeyId: 'AK', profile: null, secret: 'keychain' };
  it('says where the secret lives', () => {
    expect(secretLabel(base)).toMatch(/keychain/);
    expect(secretLabel({ ...base, secret: 'session' })).toMatch(/this session only/);
    expect(secretLabel({ ...base, kind: 'aws_profile', profile: 'work', secret: 'none' })).toMatch(/AWS profile “work”/);
  });
});

describe('endpointLabel', () => {
  const aws: Account = { name: 'x', kind: 's3', endpoint: null, region: 'us-east-1', pathStyle: false, accessKeyId: 'AK', profile: null, secret: 'keychain' };
  it('describes the built-in account as what it is, not as AWS', () => {
    const local: Account = { ...aws, name: 'local', kind: 'local', secret: 'none' };
    expect(endpointLabel(local)).toBe('On this computer (127.0.0.1)');
    expect(endpointLabel({ ...local, endpoint: 'http://127.0.0.1:9000' })).toBe('On this computer (127.0.0.1)');
  });
  it('names the endpoint or AWS, and the region', () => {
    expect(endpointLabel(aws)).toBe('AWS S3 · us-east-1');
    expect(endpointLabel({ ...aws, endpoint: 'https://r2.example.com', region: 'auto' })).toBe('https://r2.example.com · auto');
  });
});

describe('defaultsProblem', () => {
  it('refuses a KMS key without aws:kms encryption', () => {
    const d = { storageClass: null, sse: 'AES256', sseKmsKeyId: 'alias/x', cacheControl: null };
    expect(defaultsProblem(d)).toMatch(/goes with aws:kms/);
    expect(defaultsProblem({ ...d, sse: 'aws:kms' })).toBeNull();
    expect(defaultsProblem({ ...d, sseKmsKeyId: ' ' })).toBeNull();
  });
});
