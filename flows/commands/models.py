"""``tracerisk train``, ``evaluate`` and ``score``: models per entity type, their backtest and the published
scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.commands.common import (
    DaskAddressOption,
    MinFoldOption,
    MinTrainOption,
    RunnerOption,
    as_of_option,
    evidence_from,
    fail,
    figure,
    json_file_option,
    lake_as_of,
    run_per_entity_type,
)


def train(
    as_of: Annotated[str, as_of_option("Train with what was known on this day (ISO date).")],
    distributed: Annotated[
        bool, typer.Option("--distributed", help="Train LightGBM data-parallel on a Dask cluster (lightgbm.dask).")
    ] = False,
    dask_address: DaskAddressOption = None,
    min_train_positives: MinTrainOption = None,
    min_fold_positives: MinFoldOption = None,
) -> None:
    """Train one calibrated LightGBM model per entity type (point-in-time features and labels) and put it through
    the gate; a type whose evidence is too thin, or whose model does not beat the red-flag count, is served by the
    count."""
    home, day = lake_as_of(as_of)
    from features.registry import ENTITY_TYPES
    from flows.models import train_flow

    evidence = evidence_from(min_train_positives, min_fold_positives)
    if dask_address and not distributed:
        raise fail("--dask-address needs --distributed")
    if distributed:
        from flows.runners import dask_cluster

        with dask_cluster(dask_address) as address:
            results = train_flow(home, day, ENTITY_TYPES, address, evidence)
    else:
        results = train_flow(home, day, ENTITY_TYPES, evidence=evidence)
    table = Table(title=f"models trained as of {day}")
    for column in ("entity", "model", "served", "gate"):
        table.add_column(column)
    for entity, r in results.items():
        verdict = "[green]champion[/]" if r.promoted else "[yellow]not promoted[/]"
        table.add_row(entity, r.model_id or "-", r.served, f"{verdict}: {r.reason}")
    Console(width=200).print(table)


def evaluate(
    as_of: Annotated[str, as_of_option("Rank entities as of this day; labels come after it.")],
    truth: Annotated[Path | None, typer.Option(help="Simulator world folder: also measure against its truth.")] = None,
    json_path: Annotated[Path | None, json_file_option("metrics")] = None,
    min_train_positives: MinTrainOption = None,
    min_fold_positives: MinFoldOption = None,
) -> None:
    """Backtest on new positives: the served ranking, the latest model, the red-flag count and random."""
    import json

    home, day = lake_as_of(as_of)
    from flows.models import evaluate_flow

    result = evaluate_flow(home, day, truth, evidence=evidence_from(min_train_positives, min_fold_positives))
    table = Table(title=f"evaluation as of {day} (k = top 5%)")
    for column in ("entity", "ranking", "precision@k", "lift@k", "truth precision@k", "truth lift@k", "AP", "ECE"):
        table.add_column(column)

    for entity, res in result.items():
        if "error" in res:
            table.add_row(entity, res["error"], *["-"] * 6)
            continue
        for ranking in ("served_ranking", "model", "rule", "random"):
            m = res.get(ranking)
            if not m:
                continue
            table.add_row(
                entity,
                f"served: {res['served']}" if ranking == "served_ranking" else ranking,
                figure(m["precision_at_k"]),
                figure(m.get("lift_at_k")),  # none for a type with no entities
                figure(m["truth_precision_at_k"]),
                figure(m["truth_lift_at_k"]),
                figure(m["average_precision"]),
                figure(m.get("ece")),
            )
    Console(width=160).print(table)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")


def score(
    as_of: Annotated[str, as_of_option("Score with features from records dated before this day.")],
    runner: RunnerOption = "local",
    dask_address: DaskAddressOption = None,
    allow_rule_baseline: Annotated[
        bool,
        typer.Option(
            "--allow-rule-baseline",
            help="Publish the red-flag count for a type whose champion and earlier promoted models all fail to "
            "load (without it, scoring stops with exit code 1 and publishes nothing).",
        ),
    ] = False,
) -> None:
    """Score every entity with its type's champion model and publish to the serving store, all-or-nothing."""
    home, day = lake_as_of(as_of)
    from flows.models import PublishFailed, score_flow
    from models.champion import NoUsableModel
    from store.engine import redact_url, store_url

    # on Dask: every entity type in as many entity-id hash partitions as workers
    failures = (PublishFailed, NoUsableModel)
    run = run_per_entity_type(score_flow, runner, dask_address, home, day, allow_rule_baseline, failures, 1)
    table = Table(title=f"score run {run.run_id} published to {redact_url(store_url(home))}")
    for column in ("entity", "model", "entities", "high band"):
        table.add_column(column)
    for t in run.per_type:
        table.add_row(t["entity"], t["model"], f"{t['entities']:,}", f"{t['high band']:,}")
    Console(width=200).print(table)


COMMANDS = (train, evaluate, score)  # in the order ``tracerisk --help`` lists them
