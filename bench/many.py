"""Many small files: 100,000 files of 1 KiB (up and down), a kill-and-resume of that upload, and
1,000,000 files of 1 KiB (up, null server). Run from bench.py, which owns the servers and the report.

The 100,000-file rounds run against the same server as the other workloads (`ferry serve-local`,
data on tmpfs). Each round: Ferry uploads the tree with a fresh state folder, downloads it back with
the same state folder, and `ferry transfers` lists the rows both left (printed to /dev/null: it prints
every row, it has no paging flags); the state folder's size (`du`) is taken after the upload and after
both. s5cmd does the same upload and download. Every run is checked (the bucket's files, or the
downloaded tree: count and bytes).

The 1,000,000-file upload runs against the null server (nothing of it to hold in RAM on the server's
side), once per client.

The kill-and-resume runs against the null server (null-s3), which counts the writes of each key: Ferry
uploads the tree, is sent SIGKILL once half the files are on the server, and the same command is run
again with the same state folder. Files sent twice = keys the server saw written more than once.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import bench
from bench import GiB, KiB, check, log

QUICK = bench.QUICK
MANY_N = int(os.environ.get("BENCH_MANY_FILES") or (5_000 if QUICK else 100_000))
MANY_RUNS = int(os.environ.get("BENCH_MANY_RUNS") or (1 if QUICK else 3))
MILLION = os.environ.get("BENCH_MILLION", "0" if QUICK else "1") == "1"
MILLION_N = int(os.environ.get("BENCH_MILLION_FILES") or 1_000_000)
# s5cmd's run of the million files (as long as Ferry's): BENCH_MILLION_S5CMD=0 leaves it out.
MILLION_S5CMD = os.environ.get("BENCH_MILLION_S5CMD", "1") == "1"
PER_FOLDER = 1000
FILE = KiB


def make_tree(root, n):
    """n files of 1 KiB in folders of 1,000 (d000/f000000.bin ...), random bytes; kept when complete."""
    marker = root.parent / f".{root.name}.complete"  # beside the tree: not one of its files
    if marker.exists() and marker.read_text() == str(n) and root.is_dir():
        return root
    marker.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    log(f"generating {n:,} files of 1 KiB in {max(1, n // PER_FOLDER)} folders")
    root.mkdir(parents=True)
    for i in range(n):
        d = root / f"d{i // PER_FOLDER:03d}"
        if i % PER_FOLDER == 0:
            d.mkdir()
        (d / f"f{i:07d}.bin").write_bytes(os.urandom(FILE))
    marker.write_text(str(n))
    return root


def du_bytes(path):
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else 0


def ferry_argv(server, args):
    return [str(bench.FERRY), "--endpoint-url", server.endpoint, "--region", "us-east-1", *args]


def s5cmd_argv(server, args):
    return [str(bench.S5CMD), "--endpoint-url", server.endpoint, *args]


def run_checked(argv, env, logbase, server, what, sample_rss=False):
    m = bench.measure(argv, env, logbase, server.pid, sample_rss)
    check(m.rc == 0, f"{what} exited {m.rc}: {m.err[-2000:]}")
    return m


def log_run(label, tool, m, n):
    log(f"   {label} {tool:5}: {m.wall:7.2f} s  {n / m.wall:8.0f} files/s  cpu {m.cpu:6.2f} s  "
        f"rss {m.maxrss_kib / 1024:6.1f} MiB  server cpu {m.server_cpu:6.2f} s")


def hundred_thousand(server, clients, cmdline):
    """MANY_RUNS rounds of the 100,000-file upload and download, both clients in turn."""
    tree = make_tree(bench.WORK / "src" / "many", MANY_N)
    n, total = MANY_N, MANY_N * FILE
    runs = {"up": {"ferry": [], "s5cmd": []}, "down": {"ferry": [], "s5cmd": []}}
    extra = {"state_after_up": [], "state_after_both": [], "transfers": []}
    for rnd in range(MANY_RUNS):
        for tool in ("ferry", "s5cmd"):
            bucket = f"many-{tool}-{rnd}"
            clients.make_bucket(bucket)
            dest = bench.WORK / "dl" / f"many-{tool}-{rnd}"
            state = bench.WORK / "state" / f"many-{rnd}"
            logs = bench.WORK / "logs"
            try:
                if tool == "ferry":
                    state.mkdir(parents=True)
                    env = dict(clients.env, FERRY_STATE_DIR=str(state))
                    up = ferry_argv(server, ["cp", "--recursive", str(tree), f"s3://{bucket}/many/"])
                    down = ferry_argv(server, ["cp", "--recursive", f"s3://{bucket}/many/", f"{dest}/"])
                else:
                    env = clients.env
                    up = s5cmd_argv(server, ["cp", f"{tree}/*", f"s3://{bucket}/many/"])
                    down = s5cmd_argv(server, ["cp", f"s3://{bucket}/many/*", f"{dest}/"])
                for leg, argv in (("up", up), ("down", down)):
                    m = run_checked(argv, env, logs / f"many-{leg}-{tool}-{rnd}", server, f"{tool} {leg}load")
                    got = server.bucket_files(bucket) if leg == "up" else bench.files_under(dest)
                    check(got == (n, total), f"{tool}: {got} (files, bytes) after the {leg}load, expected {(n, total)}")
                    log_run(f"{leg:4} {rnd + 1}", tool, m, n)
                    runs[leg][tool].append(m)
                    if tool == "ferry":
                        size = du_bytes(state)
                        extra["state_after_up" if leg == "up" else "state_after_both"].append(size)
                        log(f"   state folder after the {leg}load: {size:,} bytes")
                if tool == "ferry":
                    t = bench.measure([str(bench.FERRY), "transfers"], env, logs / f"many-transfers-{rnd}",
                                      server.pid, stdout=os.devnull)
                    check(t.rc == 0, f"ferry transfers exited {t.rc}: {t.err[-2000:]}")
                    # The rows it printed, counted in a second run that is not timed.
                    listed = subprocess.run([str(bench.FERRY), "transfers"], env=env, capture_output=True)
                    rows = max(0, listed.stdout.count(b"\n") - 1)  # less the header
                    extra["transfers"].append((t, rows))
                    log(f"   ferry transfers: {rows:,} rows in {t.wall:.2f} s, rss {t.maxrss_kib / 1024:.0f} MiB")
                if rnd == 0:
                    cmdline += [shlex.join(up), shlex.join(down)]
            finally:
                server.drop_bucket(bucket)
                shutil.rmtree(dest, ignore_errors=True)
                shutil.rmtree(state, ignore_errors=True)
    cmdline.append(f"{bench.FERRY} transfers > /dev/null   # with Ferry's state folder of the round")
    return runs, extra


def stats(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def kill_and_resume(null, clients_env):
    """Ferry's 100,000-file upload to the null server, SIGKILLed at half, then run again."""
    tree = make_tree(bench.WORK / "src" / "many", MANY_N)
    bucket = "kill-resume"
    null.make_bucket(bucket)
    state = bench.WORK / "state" / "kill-resume"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    env = dict(clients_env, FERRY_STATE_DIR=str(state))
    argv = ferry_argv(null, ["cp", "--recursive", str(tree), f"s3://{bucket}/many/"])
    before = stats(null.stats)["objects"]
    logs = bench.WORK / "logs"
    with open(logs / "kill-1.out", "wb") as o, open(logs / "kill-1.err", "wb") as e:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        first = None
        held = 0
        while p.poll() is None:
            s = stats(null.stats)
            held = (s["objects"] - before) if s else held
            if first is None and held > 0:
                first = time.perf_counter() - t0
            if held >= MANY_N // 2:
                break
            time.sleep(0.02)
        killed_at = time.perf_counter() - t0
        check(p.poll() is None, "ferry finished before half the files were on the server: nothing to kill")
        p.send_signal(signal.SIGKILL)
        p.wait()
    time.sleep(0.5)  # the stats file is rewritten every 100 ms
    at_kill = stats(null.stats)
    m = bench.measure(argv, env, logs / "kill-2", null.pid)
    check(m.rc == 0, f"ferry, run again after the kill, exited {m.rc}: {m.err[-2000:]}")
    time.sleep(0.5)
    after = stats(null.stats)
    arrived = null.count(bucket, "many/")
    shutil.rmtree(state, ignore_errors=True)
    result = {
        "files": MANY_N,
        "first_file_s": first,
        "killed_at_s": killed_at,
        "on_server_at_kill": at_kill["objects"] - before,
        "arrived": arrived,
        "sent_twice": after["keys_rewritten"] - at_kill["keys_rewritten"],
        "extra_writes": after["extra_writes"] - at_kill["extra_writes"],
        "second_run": m,
        "skipped": sum(1 for line in m.err.splitlines() if line.startswith("ferry: skipped")),
        "summary": [line for line in (m.out + m.err).splitlines()
                    if line.strip() and not line.startswith("ferry: skipped")][-3:],
        "command": shlex.join(argv),
    }
    log(f"   kill-and-resume: first file on the server after {first:.2f} s; killed at {killed_at:.1f} s "
        f"with {result['on_server_at_kill']:,} on the server; the second run took {m.wall:.1f} s; "
        f"{arrived:,} of {MANY_N:,} arrived, {result['sent_twice']} sent twice")
    return result


def million(null, cmdline):
    """1,000,000 files of 1 KiB in 1,000 folders, uploaded once by each client to the null server
    (no server-side copy of a million files to hold in RAM); checked by the server's count of objects
    (all new, none written twice)."""
    tree = make_tree(bench.WORK / "src" / "million", MILLION_N)
    n = MILLION_N
    out = {}
    for tool in ("ferry", "s5cmd") if MILLION_S5CMD else ("ferry",):
        bucket = f"million-{tool}"
        null.make_bucket(bucket)
        state = bench.WORK / "state" / "million"
        before = stats(null.stats)
        try:
            if tool == "ferry":
                state.mkdir(parents=True)
                env = dict(null.env, FERRY_STATE_DIR=str(state))
                argv = ferry_argv(null, ["cp", "--recursive", str(tree), f"s3://{bucket}/m/"])
            else:
                env = null.env
                argv = s5cmd_argv(null, ["cp", f"{tree}/*", f"s3://{bucket}/m/"])
            m = run_checked(argv, env, bench.WORK / "logs" / f"million-{tool}", null, f"{tool} upload",
                            sample_rss=True)
            time.sleep(0.5)  # the stats file is rewritten every 100 ms
            after = stats(null.stats)
            added = after["objects"] - before["objects"]
            check(added == n and after["extra_writes"] == before["extra_writes"],
                  f"{tool}: the null server holds {added:,} new objects, expected {n:,}")
            log_run("up    ", tool, m, n)
            out[tool] = m
            if tool == "ferry":
                out["state_bytes"] = du_bytes(state)
            cmdline.append(shlex.join(argv))
        finally:
            shutil.rmtree(state, ignore_errors=True)
    return out


def tmpfs_room_for_million():
    """Whether tmpfs (and memory) has room for the tree (a 4 KiB page a file, and the kernel's inode)
    with 3 GiB to spare."""
    st = os.statvfs(bench.WORK)
    need = MILLION_N * 5 * KiB + 3 * GiB
    return min(st.f_bavail * st.f_frsize, bench.mem_available()) > need


