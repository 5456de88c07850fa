// What the desktop tests share: a virtual display and tauri-driver per test file, the app opened
// through WebDriver, commands invoked the way the UI invokes them, and waiting for an outcome.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remote } from 'webdriverio';

export const MIB = 1024 * 1024;

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitFor(what, fn, { timeout = 120_000, every = 100 } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`gave up waiting: ${what} (last: ${last})`);
}

/**
 * A work folder, Xvfb and tauri-driver for one test file, and the environment the app runs in (its
 * own state folder, HOME and embedded endpoint port). `stop()` ends what it started.
 */
export async function desktop(prefix) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const children = [];
  let display = 90;
  while (existsSync(`/tmp/.X11-unix/X${display}`) || existsSync(`/tmp/.X${display}-lock`)) display++;
  const driverPort = await freePort();
  const d = {
    work,
    stateDir: join(work, 'state'),
    env: {
      ...process.env,
      DISPLAY: `:${display}`,
      FERRY_STATE_DIR: join(work, 'state'),
      FERRY_LOCAL_PORT: String(await freePort()),
      HOME: work,
      GDK_BACKEND: 'x11',
      WEBKIT_DISABLE_COMPOSITING_MODE: '1',
      LIBGL_ALWAYS_SOFTWARE: '1',
    },
    /** Starts a process in the app's environment; `child.log()` is what it printed so far. */
    start(cmd, args, extraEnv = {}) {
      const child = spawn(cmd, args, { env: { ...d.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (b) => (log += b));
      child.stderr.on('data', (b) => (log += b));
      child.log = () => log;
      child.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
      children.push(child);
      return child;
    },
    /**
     * Starts `application` through WebDriver and waits until the UI has rendered. A Ferry that is
     * still quitting (its transfers' last parts finishing) is waited for first: a launch meanwhile
     * would hand over to it and exit.
     */
    async open(application) {
      await waitFor(`the previous ${application} to exit`, () => !running(application));
      const browser = await remote({
        hostname: '127.0.0.1',
        port: driverPort,
        logLevel: 'warn',
        capabilities: { 'tauri:options': { application } },
      });
      await waitFor('the app to render', () =>
        browser.execute(() => !!document.querySelector('[data-testid="app"]') && !!window.__TAURI_INTERNALS__),
      );
      return browser;
    },
    stop() {
      for (const c of children.reverse()) c.kill('SIGTERM');
      rmSync(work, { recursive: true, force: true });
    },
  };
  d.start('Xvfb', [`:${display}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp']);
  await waitFor('Xvfb', () => existsSync(`/tmp/.X11-unix/X${display}`));
  const driver = d.start('tauri-driver', ['--port', String(driverPort), '--native-port', String(await freePort())]);
  await waitFor(`tauri-driver (${driver.log()})`, async () => (await fetch(`http://127.0.0.1:${driverPort}/status`)).ok);
  return d;
}

/** Whether a process of `program` (its absolute path) runs (Linux: /proc). */
export function running(program) {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === program;
      } catch {
        return false; // ended between the listing and the read
      }
    });
}

/** Calls a Ferry command the way the UI does. */
export async function invoke(browser, cmd, args = {}) {
  const r = await browser.executeAsync(
    (cmd, args, done) => {
      window.__TAURI_INTERNALS__.invoke(cmd, args).then(
        (ok) => done({ ok }),
        (err) => done({ err }),
      );
    },
    cmd,
    args,
  );
  if (r.err) throw new Error(`${cmd}: ${JSON.stringify(r.err)}`);
  return r.ok;
}

/**
 * A loopback TCP proxy on `port` in front of `upstreamPort` that counts the bytes the client sends
 * through it (request heads and bodies, those of requests cut off included): what the server
 * received. `close()` stops it.
 */
export function countingProxy(port, upstreamPort) {
  let up = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (b) => {
      up += b.length;
      if (!upstream.write(b)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.pipe(client);
    client.on('end', () => upstream.end());
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () =>
      res({
        bytesUp: () => up,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    );
  });
}
