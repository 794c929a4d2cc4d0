"""The benchmarks: each returns rows {name, figure, unit, compared_with, comparison_figure, ratio}."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.measure import run_measured
from data_contracts.home import Home

Row = dict[str, Any]

# Targets, used where no competing implementation runs in the same benchmark.
SIMULATE_TARGET_RECORDS_PER_S = 1_000_000
SIMULATE_TARGET_PEAK_BYTES = 4 * 1024**3


def row(name: str, figure: float, unit: str, compared_with: str, comparison: float) -> Row:
    return {
        "name": name,
        "figure": round(figure, 3),
        "unit": unit,
        "compared_with": compared_with,
        "comparison_figure": round(comparison, 3),
        "ratio": round(figure / comparison, 3) if comparison else 0.0,
    }


def simulate(scale: str, scratch: Path) -> list[Row]:
    """Generate the world at ``scale`` with the CLI; records/s and peak memory of the process tree."""
    out = scratch / f"world-{scale}"
    m = run_measured(
        [sys.executable, "-m", "flows.cli", "simulate", "--scale", scale, "--seed", "1", "--out", str(out)]
    )
    if m.returncode != 0:
        raise RuntimeError(f"simulate failed:\n{m.output}")
    records = json.loads((out / "manifest.json").read_text())["total_records"]
    return [
        row(
            f"simulate {scale}: records/s",
            records / m.seconds,
            "records/s",
            "target rate",
            SIMULATE_TARGET_RECORDS_PER_S,
        ),
        row(
            f"simulate {scale}: peak memory",
            m.peak_rss_bytes / 1024**2,
            "MiB",
            "target peak memory",
            SIMULATE_TARGET_PEAK_BYTES / 1024**2,
        ),
        row(
            f"simulate {scale}: wall time",
            m.seconds,
            "s",
            "seconds at the target rate",
            records / SIMULATE_TARGET_RECORDS_PER_S,
        ),
    ]


INGEST_TARGET_SECONDS_LARGE = 300  # the large world ingested and validated in under 5 minutes
INGEST_TARGET_PEAK_BYTES = 6 * 1024**3


def _world(scale: str, scratch: Path) -> Path:
    """The world at ``scale`` (seed 1), generated once per benchmark run."""
    out = scratch / f"world-{scale}"
    if not (out / "manifest.json").exists():
        m = run_measured(
            [sys.executable, "-m", "flows.cli", "simulate", "--scale", scale, "--seed", "1", "--out", str(out)]
        )
        if m.returncode != 0:
            raise RuntimeError(f"simulate failed:\n{m.output}")
    return out


def ingest(scale: str, scratch: Path) -> list[Row]:
    """`tracerisk ingest` of the world into a fresh lake: records/s and peak memory, GX Data Docs included."""
    world = _world(scale, scratch)
    records = json.loads((world / "manifest.json").read_text())["total_records"]
    env = {**os.environ, "TRACERISK_HOME": str(scratch / f"home-{scale}")}
    m = run_measured(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "ingest",
            "--source",
            str(world),
            "--json",
            str(scratch / f"ingest-{scale}.json"),
        ],
        env=env,
    )
    if m.returncode != 0:
        raise RuntimeError(f"ingest failed:\n{m.output[-3000:]}")
    summary = json.loads((scratch / f"ingest-{scale}.json").read_text())
    read = sum(b["read"] for b in summary["batches"])
    target_s = INGEST_TARGET_SECONDS_LARGE * records / 20_000_000
    return [
        row(
            f"ingest {scale}: records/s",
            read / m.seconds,
            "records/s",
            "target rate (20M in 300 s)",
            20_000_000 / INGEST_TARGET_SECONDS_LARGE,
        ),
        row(f"ingest {scale}: wall time", m.seconds, "s", "target scaled to this world", target_s),
        row(
            f"ingest {scale}: peak memory",
            m.peak_rss_bytes / 1024**2,
            "MiB",
            "target peak memory",
            INGEST_TARGET_PEAK_BYTES / 1024**2,
        ),
    ]


FEATURES_TARGET_SECONDS = 120  # features for all entities of the large world in under 2 minutes
FEATURES_AS_OF = "2024-10-01"  # inside the simulated window (2022-01-01 .. 2024-12-30)


def features(scale: str, scratch: Path) -> list[Row]:
    """`tracerisk features --as-of` over the ingested world: entities/s and peak memory."""
    home = _ingested(scale, scratch)
    env = {**os.environ, "TRACERISK_HOME": str(home)}
    m = run_measured([sys.executable, "-m", "flows.cli", "features", "--as-of", FEATURES_AS_OF], env=env)
    if m.returncode != 0:
        raise RuntimeError(f"features failed:\n{m.output[-3000:]}")
    meta = json.loads((Home(home).features_as_of(date.fromisoformat(FEATURES_AS_OF)) / "cutoffs.json").read_text())
    entities = sum(meta["rows"].values())
    return [
        row(
            f"features {scale}: entities/s",
            entities / m.seconds,
            "entities/s",
            "entities / 120 s target",
            entities / FEATURES_TARGET_SECONDS,
        ),
        row(
            f"features {scale}: wall time ({entities:,} entities)",
            m.seconds,
            "s",
            "target for the large world",
            FEATURES_TARGET_SECONDS,
        ),
        row(f"features {scale}: peak memory", m.peak_rss_bytes / 1024**2, "MiB", "target peak memory", 6 * 1024),
    ]


SCORE_TARGET_ENTITIES_PER_S = 20_000  # scoring with top-5 reasons, every entity of the large world
TRAIN_TARGET_SECONDS = 180  # training each model on the large world
MODELS_AS_OF = "2025-01-01"  # the serving date of the default simulated window


def models(scale: str, scratch: Path) -> list[Row]:
    """Training seconds per entity type; scoring with top-5 reasons against shap.TreeExplainer (same model, rows)."""
    home = _ingested(scale, scratch)
    env = {**os.environ, "TRACERISK_HOME": str(home)}
    out = scratch / f"models-{scale}.json"
    m = run_measured(
        [
            sys.executable,
            "-m",
            "benchmarks.models_bench",
            *("--home", str(home)),
            *("--as-of", MODELS_AS_OF),
            "--json",
            str(out),
        ],
        env=env,
    )
    if m.returncode != 0:
        raise RuntimeError(f"models benchmark failed:\n{m.output[-3000:]}")
    result = json.loads(out.read_text())
    rows = []
    entities = sum(v["entities"] for k, v in result.items() if not k.startswith("_"))
    score_s = sum(v["score_seconds"] for k, v in result.items() if not k.startswith("_"))
    shap_rows = sum(v["shap_rows"] for k, v in result.items() if not k.startswith("_"))
    shap_s = sum(v["shap_seconds"] for k, v in result.items() if not k.startswith("_"))
    rows.append(
        row(
            f"score {scale}: entities/s with top-5 reasons ({entities:,.0f} entities)",
            entities / score_s,
            "entities/s",
            "shap.TreeExplainer rows/s, same models and rows (SHAP values only)",
            shap_rows / shap_s,
        )
    )
    rows.append(
        row(
            f"score {scale}: entities/s against the target",
            entities / score_s,
            "entities/s",
            "target rate",
            SCORE_TARGET_ENTITIES_PER_S,
        )
    )
    for entity, v in result.items():
        if not entity.startswith("_"):  # every type trains, whichever candidate wins
            rows.append(
                row(
                    f"train {scale}: {entity} model",
                    v["train_seconds"],
                    "s",
                    "target per model on the large world",
                    TRAIN_TARGET_SECONDS,
                )
            )
    rows.append(
        row(
            f"models {scale}: peak memory",
            m.peak_rss_bytes / 1024**2,
            "MiB",
            "the features step's memory target",
            6 * 1024,
        )
    )
    return rows


def api_benchmark(scale: str, scratch: Path) -> list[Row]:
    """API reads against a bare FastAPI endpoint (benchmarks/api_bench.py; imported late: it imports this module)."""
    from benchmarks.api_bench import api

    return api(scale, scratch)


ER_AS_OF = "2024-12-31"  # the date tests/features/test_entity_resolution.py measures at


def _ingested(scale: str, scratch: Path) -> Path:
    """The lake of the world at ``scale``, ingested unmeasured if the ingest benchmark did not run."""
    home = scratch / f"home-{scale}"
    if not Home(home).lake_catalogue.exists():
        world = _world(scale, scratch)
        env = {**os.environ, "TRACERISK_HOME": str(home)}
        m = run_measured(
            [sys.executable, "-m", "flows.cli", "ingest", "--source", str(world), "--gx-sample-rows", "0"], env=env
        )
        if m.returncode != 0:
            raise RuntimeError(f"ingest failed:\n{m.output[-3000:]}")
    return home


def entity_resolution(scale: str, scratch: Path) -> list[Row]:
    """Splink over the names on records (benchmarks/er_bench.py): records/s, and pairwise precision / recall
    against the simulator's identity map, compared with exact-key matching alone in the same run."""
    home = _ingested(scale, scratch)
    out = scratch / f"er-{scale}.json"
    command = [sys.executable, "-m", "benchmarks.er_bench", "--home", str(home), "--world", str(_world(scale, scratch))]
    m = run_measured([*command, "--as-of", ER_AS_OF, "--json", str(out)])
    if m.returncode != 0:
        raise RuntimeError(f"entity resolution benchmark failed:\n{m.output[-3000:]}")
    r = json.loads(out.read_text())
    records = r["records"]
    rows = [
        row(
            f"entity resolution {scale}: records/s through Splink ({records:,} records with names)",
            records / r["splink_seconds"],
            "records/s",
            "exact-key matching and the point-in-time views alone, records/s",
            records / r["exact_seconds"],
        )
    ]
    for kind in ("employer", "recruiter"):
        for metric in ("precision", "recall"):
            rows.append(
                row(
                    f"entity resolution {scale}: {kind} names, pairwise {metric} against the truth",
                    r["after"][kind][metric],
                    metric,
                    "exact-key matching alone",
                    r["before"][kind][metric],
                )
            )
    return rows


def dask_runner(scale: str, scratch: Path) -> list[Row]:
    """`tracerisk features` and `tracerisk score` on a local Dask cluster of 2 workers (started by the command)
    against the in-process runner, same lake, same models: what the engine costs on one machine."""
    home = _ingested(scale, scratch)
    env = {**os.environ, "TRACERISK_HOME": str(home)}
    cli = [sys.executable, "-m", "flows.cli"]
    if not Home(home).registry.exists():  # champions to score with (not measured)
        m = run_measured([*cli, "train", "--as-of", MODELS_AS_OF], env=env)
        if m.returncode != 0:
            raise RuntimeError(f"train failed:\n{m.output[-3000:]}")
    features_dir = Home(home).features_as_of(date.fromisoformat(MODELS_AS_OF))
    seconds: dict[tuple[str, str], float] = {}
    for runner in ("local", "dask"):
        for step in ("features", "score"):
            if step == "features" and features_dir.exists():
                shutil.rmtree(features_dir)
            m = run_measured([*cli, step, "--as-of", MODELS_AS_OF, "--runner", runner], env=env)
            if m.returncode != 0:
                raise RuntimeError(f"{step} --runner {runner} failed:\n{m.output[-3000:]}")
            seconds[(runner, step)] = m.seconds
    entities = sum(json.loads((features_dir / "cutoffs.json").read_text())["rows"].values())
    return [
        row(
            f"{step} {scale} on a local Dask cluster of 2 workers: wall time ({entities:,} entities)",
            seconds[("dask", step)],
            "s",
            "in-process runner, same command",
            seconds[("local", step)],
        )
        for step in ("features", "score")
    ]


def rollup_drift(scale: str, scratch: Path) -> list[Row]:
    """Supply-chain roll-up and drift (benchmarks/rollup_bench.py; imported late: it imports this module)."""
    from benchmarks.rollup_bench import rollup_and_drift

    return rollup_and_drift(scale, scratch)


def evaluation(scale: str, scratch: Path) -> list[Row]:
    """The served ranking against the red-flag count on truth, over seeds (benchmarks/evaluation_bench.py; imported
    late: it imports this module)."""
    from benchmarks.evaluation_bench import evaluation as run

    return run(scale, scratch)


BENCHMARKS: dict[str, Callable[[str, Path], list[Row]]] = {
    "simulate": simulate,
    "ingest": ingest,
    "features": features,
    "models": models,
    "api": api_benchmark,
    "entity_resolution": entity_resolution,
    "dask": dask_runner,
    "rollup_drift": rollup_drift,
    "evaluation": evaluation,
}


def us_dol(scale: str, scratch: Path) -> list[Row]:
    """The US DOL records through the one pipeline (benchmarks/us_dol_bench.py; imported late: it imports this
    module)."""
    from benchmarks.us_dol_bench import us_dol as run

    return run(scale, scratch)


# Run only when named (``--only``): they read real records outside the checkout and take minutes at any scale.
ON_DEMAND: dict[str, Callable[[str, Path], list[Row]]] = {"us_dol": us_dol}


def machine_facts() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(ValueError, OSError):
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def stamp(rows: list[Row], scale: str) -> list[Row]:
    """Every row with the scale, the machine (cores, memory) and the library versions it was measured with."""
    facts = machine_facts()
    machine = f"{facts['cpus']} cores, {facts['memory_bytes'] / 1024**3:.0f} GiB, Python {facts['python']}"
    libs = ", ".join(f"{k} {v}" for k, v in versions().items() if v != "not installed")
    return [{**r, "scale": scale, "machine": machine, "versions": libs} for r in rows]


def versions() -> dict[str, str]:
    out = {}
    for package in (
        "tracerisk",
        "numpy",
        "pyarrow",
        "duckdb",
        "pandas",
        "lightgbm",
        "shap",
        "prefect",
        "great-expectations",
        "fastapi",
        "splink",
        "dask",
        "distributed",
        "prefect-dask",
    ):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out
