// `npm run test:browser [FILE…]`: builds the UI with the mock backend inside (`vite build --mode mock`, into
// ui/dist-mock, apart from the app's ui/dist, which has no mock) when that build is missing or older than
// the sources, serves it on 127.0.0.1 at a random port, and runs the Playwright tests with node's test
// runner against it: every e2e/*.test.mjs, or only the files named (`npm run test:browser -- keyboard`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';

const ui = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(ui, 'dist-mock');
const dist = join(outDir, 'index.html');

/** @param {string} path @returns {number} */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}

const sources = ['src', 'public', 'index.html', 'vite.config.ts', 'svelte.config.js', 'package-lock.json'].map((p) => join(ui, p)).filter(existsSync);
if (!existsSync(dist) || Math.max(...sources.map(newest)) > statSync(dist).mtimeMs) {
  console.log('building ui/dist-mock…');
  const vite = join(ui, 'node_modules', 'vite', 'bin', 'vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', '--mode', 'mock', '--outDir', outDir], { cwd: ui, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const server = await serve(outDir);
console.log(`serving ui/dist-mock at ${server.url}`);
// Asynchronously: this process keeps serving while the tests run.
// Arguments after `--`: test files by name (`keyboard` for e2e/keyboard.test.mjs; all of them when none),
// and node test-runner flags (e.g. `npm run test:browser -- browser --test-name-pattern=versions`).
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const named = args.filter((a) => !a.startsWith('--')).map((f) => join(ui, 'e2e', f.endsWith('.mjs') ? f.replace(/^.*\//, '') : `${f}.test.mjs`));
const files = named.length ? named : readdirSync(join(ui, 'e2e')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join(ui, 'e2e', f));
const tests = spawn(process.execPath, ['--test', '--test-concurrency=1', ...flags, ...files], {
  cwd: ui,
  stdio: 'inherit',
  env: { ...process.env, FERRY_URL: server.url },
});
const code = await new Promise((done) => tests.on('exit', (status, signal) => done(status ?? (signal ? 1 : 0))));
await server.close();
process.exit(code);
