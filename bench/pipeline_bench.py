#!/usr/bin/env python3
"""Times `mlopsc run bench/pipeline.kdl` against the Python peer pipeline (pandas and polars
engines of ../shared/bench/pipeline.py), side by side on the same data. Standard library only;
run it through bench/run_pipeline_bench.sh, which builds mlopsc and checks the peer setup.

For every size, the three tools run alternately (pandas, polars, mlopsc, pandas, …) RUNS times
each, every run under `/usr/bin/time -v` (wall, CPU user+sys, peak RSS). mlopsc gets a fresh
store every time, so nothing is cached; then it runs RUNS more times on the last store, where
every step is cached. Per-phase seconds come from the peer's JSON line and from mlopsc's
`--log-format json` events (`step_finished` seconds; the runtime overhead is the run's wall time
minus the sum of its step times).

Prints a Markdown table of medians and ratios, and a list of the goals met or missed; writes
every sample to $BENCH_WORK/results/mlopsc_pipeline_<size>.json.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# mlopsc step → the peer's phase name.
PHASES = {
    "ingest.customers": "read",
    "validate.customers": "validate",
    "transform.features": "preprocess",
    "split.holdout": "split",
    "train.churn": "train",
    "evaluate.churn": "evaluate",
}
PHASE_ORDER = ["imports", "read", "validate", "preprocess", "split", "train", "evaluate"]
TOOLS = ["pandas", "polars", "mlopsc"]


def timed(command: list[str], cwd: Path) -> dict:
    """Runs `command` under /usr/bin/time -v; returns wall, CPU, RSS and its output."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        process = subprocess.run(
            ["/usr/bin/time", "-v", "-o", report.name, *command], cwd=cwd, capture_output=True, text=True
        )
        wall = time.perf_counter() - start
        text = report.read()
    if process.returncode != 0:
        sys.stderr.write(process.stdout[-3000:] + process.stderr[-5000:])
        sys.exit(f"failed (exit {process.returncode}): {' '.join(command)}")

    def field(pattern: str) -> float:
        return float(re.search(pattern, text).group(1))

    with open("/proc/loadavg") as loadavg:
        load = float(loadavg.read().split()[0])
    return {
        "wall_s": round(wall, 4),
        "cpu_s": round(field(r"User time \(seconds\): ([\d.]+)") + field(r"System time \(seconds\): ([\d.]+)"), 3),
        "peak_rss_mib": round(field(r"Maximum resident set size \(kbytes\): (\d+)") / 1024, 1),
        "load1": load,
        "stdout": process.stdout,
        "stderr": process.stderr,
    }


def peer_run(engine: str, size: str, args: argparse.Namespace) -> dict:
    python = args.work / "venv" / "bin" / "python"
    command = [
        str(python), str(args.peer / "pipeline.py"), "--engine", engine,
        "--data", f"data/train_{size}.csv", "--outdir", f"out/{engine}_{size}",
    ]
    sample = timed(command, args.work)
    line = next(line for line in reversed(sample.pop("stdout").splitlines()) if line.startswith("{"))
    sample.pop("stderr")
    result = json.loads(line)
    phases = {name: seconds for name, seconds in result["phases_s"].items() if name in PHASE_ORDER}
    sample.update(phases=phases, metrics=result["metrics"])
    return sample


def mlopsc_run(spec: Path, store: Path, args: argparse.Namespace) -> dict:
    command = [str(args.mlopsc), "run", str(spec), "--store", str(store), "--log-format", "json"]
    sample = timed(command, spec.parent)
    sample.pop("stdout")
    phases, metrics, statuses, finished = {}, {}, {}, None
    for line in sample.pop("stderr").splitlines():
        if not line.startswith("{"):
            continue
        event = json.loads(line)
        if event.get("event") == "step_finished":
            phase = PHASES.get(event["step"], event["step"])
            phases[phase] = event["seconds"]
            statuses[phase] = event["status"]
            if event["step"] == "evaluate.churn":
                metrics = event.get("metrics") or {}
        elif event.get("event") == "run_finished":
            finished = event
    if finished is None:
        sys.exit(f"mlopsc printed no run_finished event: {' '.join(command)}")
    sample.update(
        phases=phases,
        statuses=statuses,
        metrics=metrics,
        run_wall_s=finished["wall_seconds"],
        step_s=finished["step_seconds"],
        overhead_s=round(sample["wall_s"] - finished["step_seconds"], 4),
    )
    return sample


def prepare(size: str, args: argparse.Namespace) -> Path:
    folder = args.work / "mlopsc" / size
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.spec, folder / "mlops.kdl")
    link = folder / "data.csv"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(args.work / "data" / f"train_{size}.csv")
    return folder


def median(samples: list[dict], key) -> float | None:
    values = [value for value in (key(sample) for sample in samples) if value is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def speedup(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None or ours <= 0:
        return "—"
    return f"{peer / ours:.2f}×"


def bench_size(size: str, args: argparse.Namespace) -> dict:
    folder = prepare(size, args)
    samples: dict[str, list[dict]] = {tool: [] for tool in TOOLS}
    store = folder / "store"
    for run in range(args.runs):
        for tool in TOOLS:
            if tool == "mlopsc":
                shutil.rmtree(store, ignore_errors=True)
                sample = mlopsc_run(folder / "mlops.kdl", store, args)
            else:
                sample = peer_run(tool, size, args)
            samples[tool].append(sample)
            print(
                f"{size} {tool} run {run + 1}/{args.runs}: wall {sample['wall_s']:.2f}s cpu {sample['cpu_s']:.2f}s "
                f"rss {sample['peak_rss_mib']:.0f} MiB auc {sample['metrics'].get('auc', float('nan')):.4f} load {sample['load1']}",
                file=sys.stderr,
                flush=True,
            )
    cached = [mlopsc_run(folder / "mlops.kdl", store, args) for _ in range(args.runs)]
    for sample in cached:
        not_cached = [phase for phase, status in sample["statuses"].items() if status != "cached"]
        if not_cached:
            sys.exit(f"the cached re-run ran {', '.join(not_cached)} again")
    results = {"size": size, "samples": samples, "cached": cached}
    out = args.work / "results" / f"mlopsc_pipeline_{size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return results


def table(results: dict) -> list[str]:
    samples, cached = results["samples"], results["cached"]

    def row(label: str, key, digits: int = 2, ratio: str = "speedup") -> str:
        values = {tool: median(samples[tool], key) for tool in TOOLS}
        cells = [fmt(values[tool], digits) for tool in TOOLS]
        if ratio == "speedup":
            ratios = [speedup(values["pandas"], values["mlopsc"]), speedup(values["polars"], values["mlopsc"])]
        elif ratio == "fraction":
            ratios = [
                "—" if values[peer] in (None, 0) or values["mlopsc"] is None else f"{values['mlopsc'] / values[peer]:.2f}"
                for peer in ("pandas", "polars")
            ]
        elif ratio == "difference":
            ratios = [
                "—" if values[peer] is None or values["mlopsc"] is None else f"{values['mlopsc'] - values[peer]:+.4f}"
                for peer in ("pandas", "polars")
            ]
        else:
            ratios = ["", ""]
        return f"| {label} | {' | '.join(cells)} | {' | '.join(ratios)} |"

    def non_training(sample: dict) -> float:
        return sample["wall_s"] - sample["phases"].get("train", 0.0)

    lines = [
        f"### {results['size']} rows (median of {len(samples['mlopsc'])} runs each)",
        "",
        "| | pandas | polars | mlopsc | pandas ÷ mlopsc | polars ÷ mlopsc |",
        "|---|---:|---:|---:|---:|---:|",
        row("whole process, wall (s)", lambda s: s["wall_s"]),
        row("CPU user+sys (s)", lambda s: s["cpu_s"]),
        row("non-training work: wall − train (s)", non_training),
    ]
    for phase in PHASE_ORDER:
        lines.append(row(f"↳ {phase} (s)", lambda s, phase=phase: s["phases"].get(phase), 3))
    lines += [
        row("runtime overhead: wall − Σ steps (s)", lambda s: s.get("overhead_s"), 3, ratio="none"),
        row("peak RSS (MiB) — ratio is mlopsc ÷ peer", lambda s: s["peak_rss_mib"], 0, ratio="fraction"),
        row("test AUC — ratio is mlopsc − peer", lambda s: s["metrics"].get("auc"), 4, ratio="difference"),
        row("test accuracy", lambda s: s["metrics"].get("accuracy"), 4, ratio="difference"),
        row("test F1", lambda s: s["metrics"].get("f1"), 4, ratio="difference"),
        "",
        f"mlopsc, every step cached (same store): wall {fmt(median(cached, lambda s: s['wall_s']) * 1000, 0)} ms "
        f"(min {fmt(min(s['wall_s'] for s in cached) * 1000, 0)} ms), peak RSS {fmt(median(cached, lambda s: s['peak_rss_mib']), 0)} MiB.",
        "",
    ]
    return lines


def goals(all_results: list[dict]) -> list[str]:
    lines = ["### Goals", ""]

    def check(ok: bool, text: str) -> None:
        lines.append(f"- {'met' if ok else '**missed**'}: {text}")

    for results in all_results:
        size, samples = results["size"], results["samples"]
        ours = samples["mlopsc"]
        wall = median(ours, lambda s: s["wall_s"])
        train = median(ours, lambda s: s["phases"].get("train"))
        other = median(ours, lambda s: s["wall_s"] - s["phases"].get("train", 0.0))
        overhead = median(ours, lambda s: s["overhead_s"])
        for peer in ("pandas", "polars"):
            theirs = samples[peer]
            p_wall = median(theirs, lambda s: s["wall_s"])
            p_train = median(theirs, lambda s: s["phases"]["train"])
            p_other = median(theirs, lambda s: s["wall_s"] - s["phases"]["train"])
            need = 2.0 if size == "100k" else 1.3
            check(p_other / other >= 5, f"{size} vs {peer}: non-training work ≥5× faster — {p_other:.2f}s vs {other:.2f}s = {p_other / other:.2f}×")
            check(train <= 1.1 * p_train, f"{size} vs {peer}: training within 10% of Python XGBoost — {train:.2f}s vs {p_train:.2f}s ({(train / p_train - 1) * 100:+.0f}%)")
            check(p_wall / wall >= need, f"{size} vs {peer}: whole process ≥{need}× faster — {p_wall:.2f}s vs {wall:.2f}s = {p_wall / wall:.2f}×")
            auc, p_auc = median(ours, lambda s: s["metrics"].get("auc")), median(theirs, lambda s: s["metrics"]["auc"])
            if auc is not None:
                check(abs(auc - p_auc) <= 0.005, f"{size} vs {peer}: same test AUC within 0.005 — {auc:.4f} vs {p_auc:.4f}")
            if size == "1m":
                rss, p_rss = median(ours, lambda s: s["peak_rss_mib"]), median(theirs, lambda s: s["peak_rss_mib"])
                check(rss <= p_rss / 2, f"1m vs {peer}: peak memory ≤ half — {rss:.0f} MiB vs {p_rss:.0f} MiB")
        cached = median(results["cached"], lambda s: s["wall_s"])
        check(cached < 0.1, f"{size}: cached re-run < 100 ms — {cached * 1000:.0f} ms")
        check(overhead / wall < 0.05, f"{size}: runtime overhead < 5% — {overhead:.3f}s of {wall:.2f}s = {overhead / wall * 100:.1f}%")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="$BENCH_WORK, prepared by ../shared/bench/setup.sh")
    parser.add_argument("--peer", type=Path, required=True, help="the peer scripts folder (../shared/bench)")
    parser.add_argument("--mlopsc", type=Path, required=True, help="a release build of mlopsc")
    parser.add_argument("--spec", type=Path, required=True, help="bench/pipeline.kdl")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", nargs="+", default=["100k", "1m"])
    args = parser.parse_args()
    args.work, args.peer = args.work.resolve(), args.peer.resolve()
    args.mlopsc, args.spec = args.mlopsc.resolve(), args.spec.resolve()
    all_results = [bench_size(size, args) for size in args.sizes]
    lines = []
    for results in all_results:
        lines += table(results)
    lines += goals(all_results)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
