#!/usr/bin/env python3
"""Prints what the engine suite injected for real, from the fault ledger its tests write
(tests/support/ledger.rs): one line of totals, then one line per kind. Run by `make test-engine`
after both cargo runs passed, so every one of these faults was met by a test that checked its outcome
on disk and on the server. Usage: fault_summary.py LEDGER_DIR"""

import collections
import pathlib
import sys

ledger = pathlib.Path(sys.argv[1])
counts = collections.Counter()
for f in sorted(ledger.glob("*.tsv")) if ledger.is_dir() else []:
    for line in f.read_text().splitlines():
        kind, _, n = line.rpartition("\t")
        if kind and n.isdigit():
            counts[kind] += int(n)
if not counts:
    sys.exit(f"fault suite: no faults were noted in {ledger}; did the suite run?")
total = sum(counts.values())
print(f"fault suite: {total:,} faults of {len(counts)} kinds injected for real, each met by a passing "
      "test that checked what came of it (on disk, on the server, in the queue):")
width = max(len(f"{n:,}") for n in counts.values())
for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"  {n:>{width},}  {kind}")
