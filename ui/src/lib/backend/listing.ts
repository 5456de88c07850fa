// A streamed listing collected whole, for callers that need every entry (tests, small folders).
import type { Backend, Listing } from './types';

export async function listAll(backend: Pick<Backend, 'listObjects'>, account: string, bucket: string, prefix: string): Promise<Listing> {
  const all: Listing = { prefixes: [], objects: [] };
  await backend.listObjects(account, bucket, prefix, (page) => {
    all.prefixes.push(...page.prefixes);
    for (const o of page.objects) all.objects.push(o);
  }).done;
  return all;
}
