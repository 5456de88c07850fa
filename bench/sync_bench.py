#!/usr/bin/env python3
"""`ferry sync` vs `s5cmd sync` vs `aws s3 sync`, against the same local S3 server (stdlib only).

Run by `make bench` after bench.py (it reuses bench.py's server, measuring and machine description).

Workloads, on a tree of BENCH_SYNC_FILES files of 1 KiB in folders of 1,000:
  sync-noop-up    the folder onto a prefix that already matches it: nothing to send
  sync-noop-down  the prefix onto a folder that already matches it: nothing to fetch
  sync-1k-up      1,000 of the files changed (one byte longer) since the last sync: send those
Each tool has its own copy of the prefix and of the downloaded folder, made by its own first sync (not
measured), so each compares what it wrote itself. Ferry keeps its state folder between runs, as an
installed Ferry does. Each measured run is checked afterwards (the bucket's or the folder's files).

Knobs: BENCH_SYNC_FILES (default 100000, the issue's size),
BENCH_RUNS (default 3), BENCH_DOC (default docs/BENCHMARKS-sync.md for a default run, `-` for none),
BENCH_TMP, FERRY_BIN, S5CMD_BIN, AWS_BIN.
"""

import datetime
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the server, measure(), machine info)

FILES = int(os.environ.get("BENCH_SYNC_FILES") or 100000)
RUNS = int(os.environ.get("BENCH_RUNS") or 3)
CHANGED = min(1000, FILES)
WORK = bench.WORK / "sync"
AWS = os.environ.get("AWS_BIN") or shutil.which("aws")
OFF_RECORD = "BENCH_SYNC_FILES" in os.environ or "BENCH_RUNS" in os.environ
TOOLS = ["ferry", "s5cmd"] + (["aws"] if AWS else [])


def make_tree(root):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        d = root / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            d.mkdir(exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(1024))


def changed_files(root):
    """Every (FILES / CHANGED)-th file: 1,000 files spread over all folders."""
    step = max(1, FILES // CHANGED)
    return [root / f"d{i // 1000:03d}" / f"f{i:06d}.bin" for i in range(0, FILES, step)][:CHANGED]


class Tools:
    def __init__(self, server):
        self.server = server
        self.env = server.client_env()
        self.ferry_state = WORK / "ferry-state"
        self.ferry_state.mkdir(parents=True, exist_ok=True)

    def argv(self, tool, src, dst):
        e = self.server.endpoint
        if tool == "ferry":
            return [str(bench.FERRY), "--endpoint-url", e, "--region", "us-east-1", "sync", src, dst]
        if tool == "s5cmd":
            # s5cmd names a folder's contents with a trailing slash (a wildcard for a prefix).
            src = src if src.startswith("s3://") else src.rstrip("/") + "/"
            src = src + "*" if src.startswith("s3://") else src
            dst = dst if dst.startswith("s3://") else dst.rstrip("/") + "/"
            return [str(bench.S5CMD), "--endpoint-url", e, "sync", src, dst]
        return [AWS, "--endpoint-url", e, "--no-progress", "s3", "sync", src, dst]

    def run(self, tool, src, dst, logbase):
        env = dict(self.env, FERRY_STATE_DIR=str(self.ferry_state))
        if tool == "aws":
            env.update(AWS_DEFAULT_REGION="us-east-1")
        argv = self.argv(tool, src, dst)
        m = bench.measure(argv, env, logbase, self.server.pid)
        if m.rc != 0:
            raise bench.Failure(f"{tool} exited {m.rc}: {m.err[-2000:]}")
        return m, argv


def same_tree(a, b):
    def listing(root):
        out = {}
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = Path(dirpath) / f
                out[str(p.relative_to(root))] = p.read_bytes()
        return out
    return listing(a) == listing(b)


def main():
    for p, what in ((bench.FERRY, "cargo build --release --locked --bin ferry"),):
        if not Path(p).is_file():
            sys.exit(f"{p} is missing: {what} (make bench does it)")
    if not AWS:
        bench.log("aws CLI not found: `python3 -m pip install awscli` (make bench does it); comparing with s5cmd only")
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "logs").mkdir(parents=True)
    bench.WORK.mkdir(parents=True, exist_ok=True)
    src = WORK / "tree"
    bench.log(f"generating {FILES} files of 1 KiB")
    make_tree(src)
    server = bench.Server()
    tools = Tools(server)
    clients = bench.Clients(server)
    clients.make_bucket("sync")
    results = {}
    cmdlines = []
    try:
        # Each tool's first sync up and down (not measured): its own prefix and folder.
        for tool in TOOLS:
            bench.log(f"first sync with {tool}")
            tools.run(tool, str(src), f"s3://sync/{tool}/", WORK / "logs" / f"first-up-{tool}")
            got = server.bucket_files("sync")
            tools.run(tool, f"s3://sync/{tool}/", str(WORK / f"down-{tool}"),
                      WORK / "logs" / f"first-down-{tool}")
            bench.check(same_tree(src, WORK / f"down-{tool}"), f"{tool}: the first sync down differs")
        bench.log(f"bucket after the first syncs: {got}")

        def noop_up(tool, logbase):
            before = server.bucket_files("sync")
            m, argv = tools.run(tool, str(src), f"s3://sync/{tool}/", logbase)
            bench.check(server.bucket_files("sync") == before, f"{tool}: a no-op sync changed the bucket")
            return m, argv

        def noop_down(tool, logbase):
            m, argv = tools.run(tool, f"s3://sync/{tool}/", str(WORK / f"down-{tool}"), logbase)
            bench.check(same_tree(src, WORK / f"down-{tool}"), f"{tool}: the folder no longer matches")
            return m, argv

        def changed_up(tool, logbase):
            for p in changed_files(src):
                with open(p, "ab") as f:
                    f.write(b"+")
            m, argv = tools.run(tool, str(src), f"s3://sync/{tool}/", logbase)
            for p in changed_files(src)[:: max(1, CHANGED // 50)]:
                obj = server.data / "sync" / tool / p.relative_to(src)
                bench.check(obj.read_bytes() == p.read_bytes(), f"{tool}: {p} was not sent")
            # The other tools' prefixes now differ from the folder: bring them back before their turn
            # is measured (not counted).
            return m, argv

        workloads = [
            ("sync-noop-up", f"no-op sync up, {FILES:,} files of 1 KiB", noop_up),
            ("sync-noop-down", f"no-op sync down, {FILES:,} files of 1 KiB", noop_down),
            ("sync-1k-up", f"sync up, {CHANGED:,} of {FILES:,} files changed", changed_up),
        ]
        for name, label, fn in workloads:
            bench.log(f"== {name}: {label}")
            runs = {t: [] for t in TOOLS}
            for rnd in range(RUNS):
                for tool in TOOLS:
                    m, argv = fn(tool, WORK / "logs" / f"{name}-{tool}-{rnd}")
                    if rnd == 0:
                        cmdlines.append(" ".join(argv))
                    bench.log(f"   run {rnd + 1} {tool:5}: {m.wall:7.2f} s  cpu {m.cpu:6.2f} s  "
                              f"rss {m.maxrss_kib / 1024:6.1f} MiB  server cpu {m.server_cpu:6.2f} s")
                    runs[tool].append(m)
                    if name == "sync-1k-up":
                        # Bring the other tools' prefixes up to date (not measured), so each measured
                        # run sends exactly the 1,000 changed files.
                        for other in TOOLS:
                            if other != tool:
                                tools.run(other, str(src), f"s3://sync/{other}/",
                                          WORK / "logs" / f"catch-up-{other}")
            results[name] = (label, runs)
    except bench.Failure as e:
        sys.exit(f"sync benchmark stopped: a result was wrong, so nothing is reported: {e}")
    finally:
        server.stop()
    elapsed = time.perf_counter() - t0
    text = report(results, started, elapsed, cmdlines)
    print(text)
    doc = os.environ.get("BENCH_DOC")
    if doc == "-" or (doc is None and OFF_RECORD):
        bench.log("not writing docs/BENCHMARKS-sync.md (a tuned run; set BENCH_DOC=path to write one)")
        return
    path = Path(doc) if doc else bench.ROOT / "docs" / "BENCHMARKS-sync.md"
    path.write_text(text)
    bench.log(f"wrote {path}")
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(WORK, ignore_errors=True)


def report(results, started, elapsed, cmdlines):
    med = bench.med
    lines = ["# Benchmarks: sync\n",
             f"Measured {started:%Y-%m-%d %H:%M} UTC by `make bench` (bench/sync_bench.py), {RUNS} runs per "
             f"tool and workload, medians; the run took {elapsed / 60:.0f} minutes.\n",
             "| workload | tool | wall s | client CPU s | peak RSS MiB | Ferry / tool (wall) |",
             "|---|---|---:|---:|---:|---:|"]
    verdicts = []
    for name, (label, runs) in results.items():
        f_wall = med([m.wall for m in runs["ferry"]])
        for tool in TOOLS:
            ms = runs[tool]
            wall, cpu, rss = med([m.wall for m in ms]), med([m.cpu for m in ms]), max(m.maxrss_kib for m in ms) / 1024
            ratio = "" if tool == "ferry" else f"{f_wall / wall:.2f}×"
            lines.append(f"| {label} | {tool} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {ratio} |")
        faster = all(f_wall < med([m.wall for m in runs[t]]) for t in TOOLS if t != "ferry")
        rss = max(m.maxrss_kib for m in runs["ferry"]) / 1024
        verdicts.append(f"- {label}: Ferry faster than {', '.join(t for t in TOOLS if t != 'ferry')}: "
                        f"**{'met' if faster else 'NOT MET'}**; Ferry's peak RSS ≤ 300 MiB: "
                        f"**{'met' if rss <= 300 else 'NOT MET'}** ({rss:.0f} MiB)")
    info, vers = bench.machine_info(), bench.versions()
    lines += ["", "## Targets (issue: Ferry faster than both, peak RSS ≤ 300 MiB)\n", *verdicts, "",
              "## Setup\n",
              f"- {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM; server and clients share them.",
              f"- Ferry `{vers['ferry']}` (commit {vers['git']}), s5cmd `{vers['s5cmd']}`, "
              f"aws `{bench.sh(f'{AWS} --version') if AWS else 'not installed'}`.",
              "- Server: `ferry serve-local` (s3s-fs, listing from Ferry's in-memory key index: a page of "
              "1,000 keys costs milliseconds whatever the prefix holds) on 127.0.0.1, data on tmpfs. "
              "Every tool lists the whole prefix.",
              "- Ferry keeps its state folder between runs, as an installed Ferry does: a download it made "
              "is recognised from its record without asking the server.",
              "- Commands:\n", "```", *cmdlines, "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
