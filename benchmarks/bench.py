"""`make bench`: latency and memory of every live panel, with the floor beside each figure.

For each notebook, in a fresh kernel (nbclient): Run All time, the kernel's peak resident memory,
then `panel_sweep.sweep_all()` in the same kernel. Also `import helpers` time in fresh processes.
Prints a markdown table; nothing here is a pass/fail test. Warm-up calls are excluded.
Usage: python -m benchmarks.bench [--repeats 3] [--values 4] [--profile DIR] [notebooks/NN_x.ipynb ...]
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def import_seconds(runs: int = 5) -> float:
    code = "import time; t = time.perf_counter(); import helpers; print(time.perf_counter() - t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], cwd=REPO)) for _ in range(runs)]
    return statistics.median(times)


def kernel_peak_mb(client) -> float:
    pid = client.km.provisioner.process.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_notebook(path: Path, values: int, repeats: int, profile: bool = False) -> dict:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        started = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        run_all = time.perf_counter() - started
        peak_after_run = kernel_peak_mb(client)
        sweep = nbformat.v4.new_code_cell(
            f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from benchmarks.panel_sweep import sweep_all\n"
            f"sweep_all(values_per_control={values}, repeats={repeats}, profile={profile})")
        nb.cells.append(sweep)
        client.execute_cell(sweep, len(nb.cells) - 1)
        peak = kernel_peak_mb(client)
    line = next(o["text"] for o in sweep.outputs if o.get("name") == "stdout" and "BENCH_JSON" in o["text"])
    panels = json.loads(line.split("BENCH_JSON ", 1)[1])
    return {"notebook": path.name, "run_all": run_all, "peak_run_mb": peak_after_run, "peak_mb": peak,
            "panels": panels}


def stats(values) -> str:
    return f"{statistics.median(values):.3f} / {percentile(values, 0.9):.3f} / {max(values):.3f}"


def table(results: list[dict], helpers_import: float) -> str:
    rows = [
        f"Machine: {platform.machine()}, {platform.python_version()}, "
        f"{subprocess.check_output(['nproc']).decode().strip()} cores; one torch thread per kernel. "
        f"`import helpers`: {helpers_import:.2f} s (median of 5 fresh processes).",
        "",
        "| notebook | Run All (s) | kernel peak (MB) |", "|---|---|---|",
    ]
    rows += [f"| {r['notebook']} | {r['run_all']:.1f} | {r['peak_mb']:.0f} |" for r in results]
    rows += ["", "Per panel, seconds over every setting x repeat (warm-up excluded), caches bypassed:", "",
             "| notebook | panel (controls) | settings | compute median / p90 / max | draw+render median / p90 / max "
             "| total median / p90 / max | floor: bare work + render | ratio | repaint | ratio to work + repaint |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for i, p in enumerate(r["panels"]):
            floor = p["floor_train_median"] + p["floor_render"]
            median_total = statistics.median(p["total"])
            work = f"{p['floor_train_median']:.3f}" if p["work_replayed"] else "0 (none to replay)"
            rows.append(f"| {r['notebook']} | {i}: {', '.join(p['controls'])} | {p['settings']} | "
                        f"{stats(p['compute'])} | {stats(p['draw_render'])} | {stats(p['total'])} | "
                        f"{work} + {p['floor_render']:.3f} | {median_total / floor:.2f} | {p['repaint']:.3f} | "
                        f"{median_total / (p['floor_train_median'] + p['repaint']):.2f} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--values", type=int, default=4, help="values per control (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions per setting (default 3)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--profile", type=Path, help="also profile each panel; write the reports in this folder")
    args = parser.parse_args()
    paths = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    results = []
    for path in paths:
        print(f"benchmarking {path.name} ...", file=sys.stderr, flush=True)
        result = bench_notebook(path.resolve(), args.values, args.repeats, profile=args.profile is not None)
        results.append(result)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for i, panel in enumerate(result["panels"]):
                (args.profile / f"{path.stem}_panel{i}.txt").write_text(panel.pop("profile"))
    report = table(results, import_seconds())
    print(report)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
