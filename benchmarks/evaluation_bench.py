"""The served ranking against the red-flag count on the simulator's truth, over several seeds.

For each seed, as a user would: ``tracerisk simulate``, ``ingest``, ``train --as-of B`` and ``evaluate --as-of B
--truth WORLD`` (B = the pipeline's backtest date: a full label horizon follows it). Training never sees the
truth; evaluation reads it to measure only. Per entity type, the rows give the mean over seeds of the served
ranking's truth precision at capacity (top 5%, new positives) against the red-flag count's and random's in the
same runs, and the lower end of the 95% interval of their paired difference over seeds. A ceiling row says how
far any ranking of the type's features could go: trees fitted on the truth itself, each entity scored by trees
that never saw it (``models.evaluate.ceiling``); it reads the truth, so it is never served.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.measure import run_measured
from benchmarks.suite import Row, row
from data_contracts.home import Home
from models.evaluate import CEILING_ON_PLANTED
from models.train import LATENT_STRATEGY

EVALUATION_SEEDS = (0, 1, 2, 3, 4)
# Targets on the simulator's truth: served / red-flag count truth precision@k, and served / random.
COUNT_RATIO_TARGETS = {"employer": 1.15, "recruiter": 1.15, "visa_desk": 1.0, "border_post": 1.0, "inspector": 1.0}
RANDOM_RATIO_TARGET = 5.0
# Two-sided 95% Student t quantiles by degrees of freedom (seeds - 1), for the paired interval over seeds.
T_95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def backtest_date() -> date:
    from flows.pipeline import pipeline_dates
    from simulator.config import load_config

    cfg = load_config(None)
    return pipeline_dates(date.fromisoformat(cfg.world.start_date), cfg.world.years).backtest


def _cli(args: list[str], env: dict[str, str]) -> None:
    m = run_measured([sys.executable, "-m", "flows.cli", *args], env=env)
    if m.returncode != 0:
        raise RuntimeError(f"tracerisk {args[0]} failed:\n{m.output[-3000:]}")


def evaluate_seed(scale: str, seed: int, scratch: Path) -> dict[str, Any]:
    """evaluation.json of one seed's world, trained and evaluated at the backtest date."""
    home = scratch / f"evaluation-{scale}-{seed}"
    world = Home(home).world
    # A pseudonym key of the seed's own: desks' and officers' ids, and so the review order among equal scores
    # (ties broken by the id's hash), are the same in every run of the benchmark.
    key = f"evaluation-benchmark-pseudonym-key-seed-{seed}"
    env = {**os.environ, "TRACERISK_HOME": str(home), "TRACERISK_PSEUDONYM_KEY": key}
    day = backtest_date().isoformat()
    _cli(["simulate", "--scale", scale, "--seed", str(seed), "--out", str(world)], env)
    _cli(["ingest", "--source", str(world), "--gx-sample-rows", "2000"], env)
    _cli(["train", "--as-of", day], env)
    out = home / "evaluation-bench.json"
    _cli(["evaluate", "--as-of", day, "--truth", str(world), "--json", str(out)], env)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _truth_pk(result: dict[str, Any], ranking: str) -> float:
    value = (result.get(ranking) or {}).get("truth_precision_at_k")
    return float("nan") if value is None else float(value)


def summarise(scale: str, per_seed: list[dict[str, Any]]) -> list[Row]:
    """The benchmark rows from each seed's evaluation.json (see the module docstring)."""
    rows: list[Row] = []
    n = len(per_seed)
    for entity, count_target in COUNT_RATIO_TARGETS.items():
        results = [r[entity] for r in per_seed if entity in r and "rule" in r[entity]]
        if not results:
            continue
        served = [_truth_pk(r, "served_ranking") for r in results]
        count = [_truth_pk(r, "rule") for r in results]
        rand = [_truth_pk(r, "random") for r in results]
        diffs = [s - c for s, c in zip(served, count, strict=True)]
        mean_served, mean_count, mean_random = (statistics.fmean(v) for v in (served, count, rand))
        spread = statistics.stdev(diffs) if len(diffs) > 1 else math.nan
        low = statistics.fmean(diffs) - T_95.get(len(diffs) - 1, 1.96) * spread / math.sqrt(len(diffs))
        served_by = sorted({str(r.get("served")) for r in results})
        label = f"evaluation {scale}: {entity}, served truth precision@k ({'/'.join(served_by)}), mean of {n} seeds"
        rows.append(
            row(
                label,
                mean_served,
                "precision",
                f"red-flag count, same runs (target ratio {count_target:g})",
                mean_count,
            )
        )
        rows.append(
            row(
                f"evaluation {scale}: {entity}, served minus red-flag count truth precision@k, lower 95% bound "
                f"over {n} paired seeds",
                low,
                "precision",
                "target: lower bound not below zero",
                0.0,
            )
        )
        # What the gate weighed against the count, where training had enough evidence for a model.
        trained = [(_truth_pk(r, "model"), c) for r, c in zip(results, count, strict=True) if r.get("model")]
        # The label-free candidate as it would serve, whether or not the fold's labels let it.
        latent = [
            (float(m["truth_precision_at_k"]), c)
            for r, c in zip(results, count, strict=True)
            if (m := (r.get("candidates") or {}).get(LATENT_STRATEGY)) and m.get("truth_precision_at_k") is not None
        ]
        # What any ranking of the type's features could reach: trees fitted on the truth itself, cross-validated;
        # only where every seed has one (a type with fewer planted entities than folds has none, and a mean over
        # the few seeds that do would say little).
        ceiling = [
            (float(m["precision_at_k"]), c)
            for r, c in zip(results, count, strict=True)
            if (m := r.get("ceiling")) and m.get("fitted_on") == CEILING_ON_PLANTED
        ]
        ceiling = ceiling if len(ceiling) == len(results) else []
        for what, having, pairs in (
            ("latest model", "a model", trained),
            ("weighted red flags (label-free candidate)", "a candidate", latent),
            ("truth ceiling (trees fitted on the truth, cross-validated; never served)", "one", ceiling),
        ):
            if pairs:
                rows.append(
                    row(
                        f"evaluation {scale}: {entity}, {what} truth precision@k, mean of the {len(pairs)} of {n} "
                        f"seeds with {having}",
                        statistics.fmean(m for m, _ in pairs),
                        "precision",
                        "red-flag count, same runs",
                        statistics.fmean(c for _, c in pairs),
                    )
                )
        rows.append(
            row(
                f"evaluation {scale}: {entity}, served truth precision@k against random, mean of {n} seeds",
                mean_served,
                "precision",
                f"random expectation, same runs (target ratio {RANDOM_RATIO_TARGET:g})",
                mean_random,
            )
        )
    return rows


def evaluation_seeds() -> tuple[int, ...]:
    """The seeds to run: all of ``EVALUATION_SEEDS``, or the first ``TRACERISK_EVALUATION_SEEDS`` of them (CI's
    smoke test runs two: the paired interval needs two at least; headline figures come from all five)."""
    wanted = os.environ.get("TRACERISK_EVALUATION_SEEDS")
    if wanted is None:
        return EVALUATION_SEEDS
    if not wanted.isdigit() or not 2 <= int(wanted) <= len(EVALUATION_SEEDS):
        raise ValueError(f"TRACERISK_EVALUATION_SEEDS={wanted!r}: a whole number from 2 to {len(EVALUATION_SEEDS)}")
    return EVALUATION_SEEDS[: int(wanted)]


def evaluation(scale: str, scratch: Path) -> list[Row]:
    per_seed = []
    for seed in evaluation_seeds():
        result = evaluate_seed(scale, seed, scratch)
        per_seed.append(result)
        for entity, r in result.items():
            if "rule" in r:
                print(
                    f"seed {seed} {entity}: served {r.get('served')} truth p@k {_truth_pk(r, 'served_ranking'):.3f}, "
                    f"count {_truth_pk(r, 'rule'):.3f}, random {_truth_pk(r, 'random'):.3f}, "
                    f"count truth ROC-AUC {(r['rule'].get('truth_roc_auc') or math.nan):.3f}, "
                    f"new positives {r.get('positives', {}).get('eval_new')}, "
                    f"latest model truth p@k {_truth_pk(r, 'model'):.3f}, "
                    f"truth ceiling {(r.get('ceiling') or {}).get('precision_at_k', math.nan):.3f}",
                    flush=True,
                )
                for key, m in (r.get("candidates") or {}).items():  # every candidate, on truth: reported only
                    print(
                        f"seed {seed} {entity} candidate {key}: truth p@k "
                        f"{m.get('truth_precision_at_k') or math.nan:.3f}, "
                        f"truth ROC-AUC {m.get('truth_roc_auc') or math.nan:.3f}",
                        flush=True,
                    )
    return summarise(scale, per_seed)
