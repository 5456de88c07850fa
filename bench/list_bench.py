#!/usr/bin/env python3
"""`ferry ls` vs `s5cmd ls` vs `aws s3 ls` of one big folder, against the same local S3 server (stdlib only).

Run by `make bench` after bench.py (it reuses bench.py's server, measuring and machine description).

The folder holds BENCH_LIST_OBJECTS objects (default 100,000, the issue's size) of 100 bytes, uploaded
through the endpoint by `ferry cp --recursive` (not counted). Each tool then lists the folder, one
level (`ls s3://list/big/`), BENCH_RUNS times in turn; for each run: the time until its first line
reaches the reader (a pipe, as a script would read it), the time to its last line and exit, its
client CPU and peak RSS (GNU time), and the server's CPU meanwhile. Every run must print every key.

The server's memory is read before the first listing (its key index is built lazily, by the first
listing of a bucket) and after the last, for the index's cost per object.

Knobs: BENCH_LIST_OBJECTS, BENCH_RUNS (default 3), BENCH_DOC (default docs/BENCHMARKS-listing.md for
a default run, `-` for none), BENCH_TMP, FERRY_BIN, S5CMD_BIN, AWS_BIN, BENCH_KEEP=1.
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the server, measuring, machine info)

OBJECTS = int(os.environ.get("BENCH_LIST_OBJECTS") or 100000)
RUNS = int(os.environ.get("BENCH_RUNS") or 3)
WORK = bench.WORK / "list"
AWS = os.environ.get("AWS_BIN") or shutil.which("aws")
OFF_RECORD = "BENCH_LIST_OBJECTS" in os.environ or "BENCH_RUNS" in os.environ
TOOLS = ["ferry", "s5cmd"] + (["aws"] if AWS else [])
KEY = re.compile(rb"f\d{6}\.txt")
PAGE = 1000
LABEL = {"ferry": "ferry ls", "s5cmd": "s5cmd ls", "aws": "aws s3 ls"}


class Run:
    def __init__(self, first, wall, cpu, rss_kib, server_cpu, lines):
        self.first, self.wall, self.cpu, self.rss_kib = first, wall, cpu, rss_kib
        self.server_cpu, self.lines = server_cpu, lines


def argv(tool, server):
    url, e = "s3://list/big/", server.endpoint
    if tool == "ferry":
        return [str(bench.FERRY), "--endpoint-url", e, "--region", "us-east-1", "ls", url]
    if tool == "s5cmd":
        return [str(bench.S5CMD), "--endpoint-url", e, "ls", url]
    return [AWS, "--endpoint-url", e, "s3", "ls", url]


def listing(tool, server, env, logbase):
    """Runs one listing to the end, reading its output as it comes."""
    timing = Path(f"{logbase}.time")
    wrapped = [bench.TIME, "-f", "%U %S %M", "-o", str(timing), *argv(tool, server)]
    s0 = bench.proc_cpu_secs(server.pid)
    t0 = time.perf_counter()
    first = None
    lines = 0
    with open(f"{logbase}.err", "wb") as err:
        p = subprocess.Popen(wrapped, env=env, stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL)
        for line in p.stdout:
            if KEY.search(line):
                if first is None:
                    first = time.perf_counter() - t0
                lines += 1
        _, status, _ = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    s1 = bench.proc_cpu_secs(server.pid)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise bench.Failure(f"{tool} exited {rc}: {Path(f'{logbase}.err').read_text()[-2000:]}")
    user, sys_, rss = timing.read_text().strip().splitlines()[-1].split()
    return Run(first or wall, wall, float(user) + float(sys_), int(rss), s1 - s0, lines)


def seed(server, env):
    src = WORK / "src"
    src.mkdir(parents=True)
    body = b"x" * 100
    for i in range(OBJECTS):
        (src / f"f{i:06d}.txt").write_bytes(body)
    bench.log(f"uploading {OBJECTS:,} objects with ferry cp --recursive (not counted)")
    t0 = time.perf_counter()
    state = WORK / "seed-state"
    state.mkdir()
    subprocess.run([str(bench.FERRY), "--endpoint-url", server.endpoint, "--region", "us-east-1",
                    "cp", "--recursive", str(src), "s3://list/big/"],
                   env=dict(env, FERRY_STATE_DIR=str(state)), check=True, stdout=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    n, _ = server.bucket_files("list")
    bench.check(n == OBJECTS, f"the seeded folder holds {n} objects, not {OBJECTS}")
    shutil.rmtree(src)
    return took


def main():
    if not bench.FERRY.is_file():
        sys.exit(f"{bench.FERRY} is missing: cargo build --release --locked --bin ferry (make bench does it)")
    if not AWS:
        bench.log("aws CLI not found: `python3 -m pip install awscli` (make bench does it); comparing with s5cmd only")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = "%.2f %.2f %.2f" % os.getloadavg()
    t0 = time.perf_counter()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "logs").mkdir(parents=True)
    server = bench.Server()
    env = server.client_env()
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    clients = bench.Clients(server)
    clients.make_bucket("list")
    runs = {t: [] for t in TOOLS}
    try:
        seeded_in = seed(server, env)
        rss_before = bench.proc_rss_kib(server.pid)
        for rnd in range(RUNS):
            for tool in TOOLS:
                state = WORK / "state" / f"{tool}-{rnd}"
                state.mkdir(parents=True)
                r = listing(tool, server, dict(env, FERRY_STATE_DIR=str(state)),
                            WORK / "logs" / f"{tool}-{rnd}")
                bench.check(r.lines == OBJECTS, f"{tool} listed {r.lines} keys, not {OBJECTS}")
                bench.log(f"   run {rnd + 1} {tool:5}: first line {r.first:6.2f} s  all {r.wall:6.2f} s  "
                          f"cpu {r.cpu:6.2f} s  rss {r.rss_kib / 1024:6.1f} MiB  server cpu {r.server_cpu:5.2f} s")
                runs[tool].append(r)
        rss_after = bench.proc_rss_kib(server.pid)
    except bench.Failure as e:
        sys.exit(f"listing benchmark stopped: a result was wrong, so nothing is reported: {e}")
    finally:
        server.stop()
    elapsed = time.perf_counter() - t0
    load_after = "%.2f %.2f %.2f" % os.getloadavg()
    text = report(runs, started, elapsed, seeded_in, rss_before, rss_after, load_before, load_after)
    print(text)
    doc = os.environ.get("BENCH_DOC")
    if doc == "-" or (doc is None and OFF_RECORD):
        bench.log("not writing docs/BENCHMARKS-listing.md (a tuned run; set BENCH_DOC=path to write one)")
    else:
        path = Path(doc) if doc else bench.ROOT / "docs" / "BENCHMARKS-listing.md"
        path.write_text(text)
        bench.log(f"wrote {path}")
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(WORK, ignore_errors=True)


def report(runs, started, elapsed, seeded_in, rss_before, rss_after, load_before, load_after):
    med = bench.med
    pages = -(-OBJECTS // PAGE)
    m = {t: {"first": med([r.first for r in rs]), "wall": med([r.wall for r in rs]),
             "cpu": med([r.cpu for r in rs]), "rss": max(r.rss_kib for r in rs) / 1024,
             "server": med([r.server_cpu for r in rs])} for t, rs in runs.items()}
    f = m["ferry"]
    others = [t for t in TOOLS if t != "ferry"]
    lines = ["# Benchmarks: listing a big folder\n",
             f"Measured {started:%Y-%m-%d %H:%M} UTC by `make bench` (bench/list_bench.py): one folder of "
             f"{OBJECTS:,} objects on `ferry serve-local`, listed one level deep by each tool, {RUNS} run(s) "
             f"each in turn, medians; the run took {elapsed / 60:.0f} minutes. Rerun with "
             "`python3 bench/list_bench.py` after `cargo build --release --locked --bin ferry` "
             "(or `make bench`, which runs every benchmark).\n",
             "| tool | first line s | whole listing s | client CPU s | peak RSS MiB | server CPU s | "
             "Ferry / tool (whole) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for t in TOOLS:
        x = m[t]
        ratio = "" if t == "ferry" else f"{f['wall'] / x['wall']:.2f}×"
        lines.append(f"| `{LABEL[t]}` | {x['first']:.2f} | {x['wall']:.2f} | {x['cpu']:.2f} | {x['rss']:.0f} | "
                     f"{x['server']:.2f} | {ratio} |")
    per_page_wall = f["wall"] / pages * 1000
    per_page_server = min(m[t]["server"] for t in TOOLS) / pages * 1000
    grew = (rss_after - rss_before) / 1024 if rss_before and rss_after else float("nan")
    first_ok = all(f["first"] < m[t]["first"] for t in others)
    whole_ok = all(f["wall"] < m[t]["wall"] for t in others)
    lines += ["", "## Targets (issue 17)\n",
              f"- The embedded endpoint answers a page in milliseconds at {OBJECTS:,} objects: "
              f"**{'met' if per_page_server < 50 else 'NOT MET'}** — the server spent "
              f"{per_page_server:.1f} ms of CPU per page of {PAGE:,} keys (its CPU over the cheapest "
              f"client's listing / {pages} pages), and a whole `ferry ls` took {per_page_wall:.1f} ms "
              "per page, client and server together on the same 2 cores. Before the index, s3s-fs read "
              "the folder again for every page: 30,000 objects took `ferry ls` 41 s and `s5cmd ls` "
              "33.6 s (issue 17).",
              f"- Ferry's first line before {' and '.join(others)}'s: **{'met' if first_ok else 'NOT MET'}** "
              f"({f['first']:.2f} s vs " + ", ".join(f"{m[t]['first']:.2f} s" for t in others) + ").",
              f"- Ferry's whole listing faster than {' and '.join(others)}'s: "
              f"**{'met' if whole_ok else 'NOT MET'}** ({f['wall']:.2f} s vs "
              + ", ".join(f"{m[t]['wall']:.2f} s" for t in others) + ").",
              f"- Ferry's peak RSS while listing {OBJECTS:,} objects: {f['rss']:.0f} MiB (printed as "
              "pages arrive; nothing holds the whole listing).",
              "",
              "## Notes\n",
              f"- The server's resident memory went from {rss_before / 1024:.0f} MiB before the first "
              f"listing to {rss_after / 1024:.0f} MiB after the last: {grew:.1f} MiB for the index of "
              f"{OBJECTS:,} keys of {len('big/f000000.txt')} bytes and the pages served (about "
              f"{grew * 1024 * 1024 / OBJECTS:.0f} bytes per object, an upper bound).",
              "- \"First line\" is when the first key reached this script through a pipe, so it includes "
              "each tool's start-up and its own output buffering (the aws CLI, in Python, writes to a "
              "pipe in blocks).",
              f"- The folder was uploaded with `ferry cp --recursive` in {seeded_in:.0f} s (not counted).",
              "",
              "## Setup\n"]
    info, vers = bench.machine_info(), bench.versions()
    lines += [f"- {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM; server and clients share "
              f"them. Load average before / after: {load_before} / {load_after} (other work was running "
              "on the machine; the tools alternate run by run, so it falls on all of them).",
              f"- Ferry `{vers['ferry']}` (commit {vers['git']}), s5cmd `{vers['s5cmd']}`, "
              f"aws `{bench.sh(f'{AWS} --version') if AWS else 'not installed'}`.",
              "- Server: `ferry serve-local` (s3s-fs, with Ferry's key index for listings) on 127.0.0.1, "
              "data on tmpfs.",
              "- Commands (binaries by name):\n", "```",
              *[" ".join([Path(argv(t, _Endpoint)[0]).name, *argv(t, _Endpoint)[1:]]) for t in TOOLS],
              "```", ""]
    return "\n".join(lines)


class _Endpoint:
    endpoint = "http://127.0.0.1:PORT"


if __name__ == "__main__":
    main()
