"""Tiering and explaining 100,000 students with the risk model (screening.risk).

Data: 100,000 synthetic students with PHQ-9 and GAD-7 bands and totals (uniform over
the bands), 3% with a critical item, observations, urgent observations, previous tiers
and boarding/left-behind flags in every row (seed 2026).

Figures, best of 3 each:
1. `assess` + `to_frame` (tier, points, the Chinese explanation of every student, the
   rule) with the shipped default model, and with a model trained by `risk.fit` on 2,000
   labelled students of the same kind (its points differ; the work is the same).
   Goal: within 5 s.
2. Baseline: scikit-learn's `predict_proba` alone, of a LogisticRegression fitted on the
X
   float64, built beforehand and not timed): the floor of a linear model's arithmetic.
3. Apart: `assess` alone and the explanations alone, and `wellbeing risk tier` end to end
   on two 100,000-row `wellbeing score` CSVs in a fresh process (reading, checking,
   joining, tiering, writing).

Run: .venv/bin/python benchmarks/bench_risk.py [--students N] [--no-command]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_scoring import best_of, line, measured  # noqa: E402

from screening import risk  # noqa: E402

PHQ = np.array(["minimal", "mild", "moderate", "moderately_severe", "severe"])
GAD = np.array(["minimal", "mild", "moderate", "severe"])
BASELINE = "sklearn_predict_proba"


def students(n: int, seed: int = 2026) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    p, g = rng.integers(0, 5, n), rng.integers(0, 4, n)
    frame = pd.DataFrame(
        {
            "phq9_band": PHQ[p],
            "phq9_total": p * 5 + rng.integers(0, 5, n),
            "phq9_valid": True,
            "gad7_band": GAD[g],
            "gad7_total": g * 5 + rng.integers(0, 5, n),
            "gad7_valid": True,
            "critical": rng.random(n) < 0.03,
            "observations": rng.poisson(0.3, n),
            "observations_urgent": rng.random(n) < 0.02,
            "previous_tier": np.array([*risk.TIERS, None], dtype=object)[rng.integers(0, 5, n)],
            "boarding": rng.random(n) < 0.3,
            "left_behind": rng.random(n) < 0.2,
        }
    )
    chance = 1 / (1 + np.exp(-(-3.5 + 0.9 * p + 0.5 * g + 0.8 * frame["boarding"])))
    return frame, (rng.random(n) < chance).astype(int)


def one_hot(model: risk.Model, frame: pd.DataFrame) -> np.ndarray:
    """One column per bin of every feature (a row has a 1 in its bin, none when the
    feature was not measured)."""
    bins = risk.assess(model, frame).bins
    columns = []
    for j, feature in enumerate(model.features):
        for k in range(len(feature.bins)):
            columns.append(bins[:, j] == k)
    return np.column_stack(columns).astype(np.float64)


def scored_csvs(frame: pd.DataFrame, folder: Path) -> list[str]:
    """Two `wellbeing score`-shaped outputs of the students, as `risk tier` reads them."""
    ids = np.char.add("S", np.char.zfill(np.arange(len(frame)).astype(str), 7))
    out = []
    for name in ("phq9", "gad7"):
        table = pd.DataFrame(
            {
                "respondent_id": ids,
                "total": frame[f"{name}_total"],
                "band": frame[f"{name}_band"],
                "critical": np.where(frame["critical"] & (name == "phq9"), "true", "false"),
                "valid": "true",
                "missing": 0,
            }
        )
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        out.append(f"{name}={path}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--no-command", action="store_true", help="skip the end-to-end run")
    options = parser.parse_args()
    n = options.students
    label = f"{n // 1000}k"
    frame, _labels = students(n)
    train_frame, train_labels = students(2_000, seed=7)
    groups = pd.DataFrame({"sex": np.where(np.arange(2_000) % 2, "M", "F")})
    default = risk.default_model()
    trained = risk.fit(train_frame, train_labels, template=default, groups=groups, version="bench")

    matrix = one_hot(trained, frame)
    from sklearn.linear_model import LogisticRegression

    baseline_model = LogisticRegression(max_iter=1000).fit(
        one_hot(trained, train_frame), train_labels
    )
    base = best_of(3, lambda: baseline_model.predict_proba(matrix))
    name = f"{BASELINE}_{label}_x_{matrix.shape[1]}"
    line(name, base, "s", name, base)
    for model, which in ((default, "default_model"), (trained, "trained_model")):
        total = best_of(3, lambda m=model: risk.assess(m, frame).to_frame())
        line(f"tier_and_explain_{label}_{which}", total, "s", name, base)
    result = risk.assess(default, frame)
    line(f"assess_only_{label}", best_of(3, lambda: risk.assess(default, frame)), "s", name, base)
    line(f"explain_only_{label}", best_of(3, lambda: result.to_frame()), "s", name, base)
    if options.no_command:
        return
    with tempfile.TemporaryDirectory() as folder:
        inputs = scored_csvs(frame, Path(folder))
        command = [sys.executable, "-m", "wellbeing", "risk", "tier", *inputs]
        command += ["-o", str(Path(folder) / "tiers.csv")]
        subprocess.run(command, check=True, capture_output=True)  # warm the file cache
        seconds, peak = measured(command)
        line(f"risk_tier_command_{label}_two_inputs", seconds, "s", name, base)
        print(f"risk_tier_command_{label}_peak_memory: {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
