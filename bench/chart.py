"""The benchmark's chart: throughput and client CPU per GiB, Ferry beside s5cmd, per workload
(matplotlib, installed by `make bench`). Many-file workloads show files/s beside their bars; the CPU
panel marks the physical floor (loopback TCP copy, CRC32C) when it was measured."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FERRY, S5CMD = "#1f6feb", "#9a9a9a"


def draw(results, floor, path):
    rows = [(wl, p) for wl, p in results if "ferry" in p or "s5cmd" in p]
    if not rows:
        return
    labels = [wl.label for wl, _ in rows]
    n = len(rows)
    fig, (tp, cpu) = plt.subplots(1, 2, figsize=(13, 0.55 * n + 1.6), sharey=True)
    h = 0.38
    for ax, key, title in ((tp, "mibps", "throughput, MiB/s (log scale; higher is better)"),
                           (cpu, "cpu_per_gib", "client CPU-s per GiB (log scale; lower is better)")):
        for j, (tool, color, off) in enumerate((("ferry", FERRY, -h / 2), ("s5cmd", S5CMD, h / 2))):
            ys, xs, notes = [], [], []
            for i, (wl, p) in enumerate(rows):
                st = p.get(tool)
                if not st or not st[key] or st[key] != st[key]:
                    continue
                ys.append(i + off)
                xs.append(st[key])
                if key == "mibps" and wl.files > 1:
                    notes.append(f"{st['files_per_s']:,.0f} files/s")
                else:
                    notes.append(f"{st[key]:.3g}")
            ax.barh(ys, xs, height=h, color=color, label="Ferry" if tool == "ferry" else "s5cmd")
            for y, x, note in zip(ys, xs, notes):
                ax.text(x * 1.04, y, note, va="center", fontsize=7)
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", which="both", alpha=0.25)
    if floor:
        for what, style, label in (("tcp", "--", "floor: loopback TCP copy"), ("crc32c", ":", "floor: CRC32C")):
            v = floor.get(what, {}).get("cpu_per_gib")
            if v:
                cpu.axvline(v, color="#d1242f", linestyle=style, linewidth=1, label=f"{label} ({v:.3f})")
    tp.set_yticks(range(n))
    tp.set_yticklabels(labels, fontsize=8)
    tp.invert_yaxis()
    handles, names = cpu.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    fig.suptitle("Ferry vs s5cmd (medians; `make bench`)", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
