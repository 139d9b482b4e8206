"""Scoring speed: the vectorized core on an MHT-shaped matrix, and `wellbeing score` end to end.

1. 1,000,000 responses to the MHT-shaped school instrument (100 yes/no items, eight
   content subscales with bands, a total with bands, a 10-item lie scale), held as an
   int8 matrix. Baselines: one numpy pass summing the same matrix (the physical floor;
   goal: within 10x) and the row-by-row definition (`score_response`) in a plain Python
   loop, timed on a sample and scaled to the same number of rows.
2. `wellbeing score phq9` on a 1,000,000-row CSV in a fresh process (goal: under 15 s
   and under 2 GB peak memory). Baseline: a fresh process that reads the same CSV with
   pandas and writes it back (the floor of reading and writing that file).

Run: .venv/bin/python benchmarks/bench_scoring.py [--rows N] [--csv-rows N] [--sample N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screening.instruments import load_instrument, resolve  # noqa: E402
from screening.scoring import score_matrix, score_response  # noqa: E402

MHT = ROOT / "tests" / "screening" / "fixtures" / "good" / "mht_shaped.yaml"


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def line(name: str, value: float, unit: str, baseline: str, base: float) -> None:
    ratio = value / base
    shown = f"{ratio:.3g}" if ratio < 10 else f"{ratio:.0f}"
    print(f"{name}: {value:.3g} {unit} (ratio {shown} vs {baseline})", flush=True)


def matrix_figures(rows: int, sample: int) -> None:
    instrument = load_instrument(MHT)
    rng = np.random.default_rng(2026)
    answers = (rng.random((rows, 100)) < 0.3).astype(np.int8)  # 30% "yes"
    with_missing = answers.copy()
    with_missing[rng.random(answers.shape) < 0.01] = np.iinfo(np.int8).min
    floor = best_of(3, lambda: answers.sum(axis=1))
    vectorized = best_of(3, lambda: score_matrix(instrument, answers))
    missing = best_of(3, lambda: score_matrix(instrument, with_missing))
    ids = instrument.item_ids
    responses = [dict(zip(ids, row.tolist(), strict=True)) for row in answers[:sample]]
    loop = best_of(1, lambda: [score_response(instrument, r) for r in responses]) * rows / sample
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}m"
    base = f"numpy_sum_{label}_x_100"
    line(base, floor, "s", base, floor)
    line(f"score_matrix_mht_{label}", vectorized, "s", base, floor)
    line(f"score_matrix_mht_{label}_1pct_missing", missing, "s", base, floor)
    line(f"python_loop_mht_{label}_from_{sample}_rows", loop, "s", base, floor)
    line(f"score_matrix_mht_{label}", vectorized, "s", f"python_loop_mht_{label}", loop)


def write_phq9_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(9)
    answers = rng.integers(0, 4, size=(rows, 9)).astype(str).astype(object)
    answers[rng.random(answers.shape) < 0.002] = ""
    ids = np.char.add("S", np.char.zfill(np.arange(rows).astype(str), 7))
    header = ",".join(["respondent_id", *resolve("phq9").item_ids, "class"])
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header + "\n")
        for start in range(0, rows, 100_000):
            block = answers[start : start + 100_000]
            columns = [ids[start : start + 100_000], *block.T, ["7-1"] * len(block)]
            handle.write("\n".join(",".join(cells) for cells in zip(*columns, strict=True)))
            handle.write("\n")


# A forked child starts with its parent's resident-memory high-water mark, so the
# command is started by a small launcher process whose own mark stays low.
LAUNCHER = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of a command in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *command], capture_output=True, text=True
    )
    elapsed, peak_kib, code = result.stdout.split()
    if code != "0":
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr}")
    return float(elapsed), int(peak_kib) / 1024  # ru_maxrss is in KiB on Linux


def score_command_line() -> list[str]:
    from wellbeing.cli import cli

    if "score" in cli.commands:
        return [sys.executable, "-m", "wellbeing", "score"]
    print(
        "note: `score` is not registered in wellbeing.cli yet: running the command object",
        file=sys.stderr,
    )
    code = "from wellbeing.instruments_cli import score_command; score_command.main()"
    return [sys.executable, "-c", code]


def end_to_end_figures(rows: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        source, out = Path(directory) / "phq9.csv", Path(directory) / "scores.csv"
        write_phq9_csv(source, rows)
        roundtrip = (
            "import sys, pandas; pandas.read_csv(sys.argv[1], dtype=str)"
            ".to_csv(sys.argv[2], index=False)"
        )
        base_time, base_memory = measured([sys.executable, "-c", roundtrip, str(source), str(out)])
        time_taken, memory = measured([*score_command_line(), "phq9", str(source), "-o", str(out)])
        with out.open(encoding="utf-8") as handle:
            produced = sum(1 for _ in handle) - 1
        assert produced == rows, f"{produced} rows written for {rows}"
    label = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}m"
    base = f"pandas_roundtrip_phq9_{label}_csv"
    line(base, base_time, "s", base, base_time)
    line(f"wellbeing_score_phq9_{label}_csv", time_taken, "s", base, base_time)
    line(f"{base}_peak_memory", base_memory, "MB", f"{base}_peak_memory", base_memory)
    line(
        f"wellbeing_score_phq9_{label}_csv_peak_memory",
        memory,
        "MB",
        f"{base}_peak_memory",
        base_memory,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args()
    matrix_figures(args.rows, args.sample)
    end_to_end_figures(args.csv_rows)


if __name__ == "__main__":
    main()
