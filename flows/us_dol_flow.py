"""Prefect flows of the US DOL source, each over the lake after ingesting the DOL files into it: the published run
as of a date, the backtest over origins, and the foreign recruiter listing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from data_contracts.contracts import OrganisationType
from data_contracts.home import Home
from data_contracts.lake import Lake
from data_contracts.sources.country_tables import load_country_context
from features.registry import ENTITY_TYPES
from features.stored import features_as_of, features_dir
from flows.declare import flow_named, task_named
from flows.ingest import PREFETCH, ingest_flow
from flows.models import evaluate_task, score_flow, train_flow
from models.bundle import read_registry
from models.gate import SERVED_COUNT
from models.us_dol import (
    BOOTSTRAP_SAMPLES,
    GATE_K,
    RecruiterList,
    appendix_c_rows,
    backtest_view,
    contractor_register,
    foreign_recruiters,
    origin_label_end,
)
from store.engine import connect, store_url
from store.publish import published_runs, published_scores


@dataclass(frozen=True)
class ServedView:
    """What ``us_dol_score_flow`` read: the published rows of one entity type as of the day, and how it got them."""

    rows: list[dict[str, Any]]  # the published score rows, best rank first
    run_id: str
    scored_now: bool  # False: a run published as of the day was read as it stands
    new_rows: int  # record versions the ingest added to the lake
    unusable_files: list[str]  # "file: reason"
    served: str  # what ranks the type: model or red_flag_count
    served_reason: str


def _published_as_of(home: Path, entity: OrganisationType, as_of: date) -> tuple[str, list[dict[str, Any]]] | None:
    """The run the store serves for ``entity`` and its rows, when it was scored as of ``as_of``."""
    engine = connect(store_url(home))
    try:
        rows = published_scores(engine, entity)
        runs = published_runs(engine)
    finally:
        engine.dispose()
    if not rows or rows[0]["as_of"] != as_of.isoformat():
        return None
    return runs[entity], rows


@flow_named("us-dol-score")
def us_dol_score_flow(
    data_dir: Path,
    home: Path,
    as_of: date,
    entity: OrganisationType = "employer",
    progress: Callable[[int, int, str], None] | None = None,
) -> ServedView:
    """The DOL files into the lake (files already there add nothing); then the run the store serves, when it was
    scored as of ``as_of`` and the lake gained nothing since; else train through the gate, score and publish as of
    ``as_of`` (what ``tracerisk train`` and ``tracerisk score`` do) and read that."""
    reports, _docs = ingest_flow(data_dir, "us-dol", home, None, 0, progress, PREFETCH)
    new_rows = sum(r.new for r in reports if r.status == "committed")
    published = None if new_rows else _published_as_of(home, entity, as_of)
    scored_now = published is None
    if published is None:
        train_flow(home, as_of, ENTITY_TYPES)
        score_flow(home, as_of)
        published = _published_as_of(home, entity, as_of)
        if published is None:
            raise RuntimeError(f"the score run as of {as_of} was published but the store serves another")
    entry = read_registry(home).get(entity, {})
    return ServedView(
        published[1],
        published[0],
        scored_now,
        new_rows,
        [f"{Path(r.file).name if r.file else '?'}: {r.error}" for r in reports if r.status == "unusable"],
        str(entry.get("served", SERVED_COUNT)),
        str(entry.get("served_reason", "")),
    )


@contextmanager
def registry_set_aside(home: Path) -> Iterator[None]:
    """Run the body on an empty model registry and put the one before it back afterwards, whatever happens: a
    backtest's trainings as of earlier days never change what serves, and no champion trained later than an
    origin takes part in that origin's gate."""
    path = Home(home).registry
    kept = path.with_name("registry.json.kept-during-backtest")
    path.parent.mkdir(parents=True, exist_ok=True)
    if kept.exists():  # an interrupted backtest: its registry is the one to put back
        path.unlink(missing_ok=True)
    elif path.exists():
        path.replace(kept)
    try:
        yield
    finally:
        if kept.exists():
            kept.replace(path)
        else:
            path.unlink(missing_ok=True)


def later_debarments(home: Path, start: date, end: date) -> int:
    """Debarment records decided in (start, end], linked to an entity or not."""
    lake = Lake(home)
    try:
        outcomes = lake.current("enforcement_outcome").to_pylist()
    finally:
        lake.close()
    return sum(1 for r in outcomes if r["kind"] == "debarment" and start < r["decided_on"] <= end)


@flow_named("us-dol-backtest")
def us_dol_backtest_flow(
    data_dir: Path,
    home: Path,
    as_of: date,
    labels_to: date,
    entities: tuple[OrganisationType, ...] = ("employer", "recruiter"),
    progress: Callable[[int, int, str], None] | None = None,
    origins: tuple[date, ...] = (),
) -> list[dict[str, Any]]:
    """The DOL files into the lake, then per origin (``as_of`` alone without ``origins``), oldest first: train
    through the gate as of it (tracerisk train) and evaluate on the new positives of (origin, label end] with
    precision at GATE_K, bootstrap intervals and paired comparisons (models.evaluate); the label end is
    ``labels_to``, or with ``origins`` two years after each at most ``labels_to``. The trainings run on a registry
    set aside (registry_set_aside): what serves is unchanged."""
    ingest_flow(data_dir, "us-dol", home, None, 0, progress, PREFETCH)
    days = sorted(origins) if origins else [as_of]
    results: list[dict[str, Any]] = []
    with registry_set_aside(home):
        for day in days:
            end = origin_label_end(day, labels_to) if origins else labels_to
            train_flow(home, day, entities)
            evaluation = evaluate_task(
                home,
                day,
                None,
                entities,
                paired_resamples=BOOTSTRAP_SAMPLES,
                horizon=(end - day).days,
                capacity_k=GATE_K,
            )
            debarred = later_debarments(home, day, end)
            results += [backtest_view(evaluation[e], end, debarred) for e in entities]
    return results


@task_named("us-dol-foreign-recruiters", retry_delays=[5])
def recruiters_task(home: Path, data_dir: Path, as_of: date, rebuild: bool) -> RecruiterList:
    """The recruiter features as of ``as_of`` (the features folder's, else built from the lake and kept;
    ``rebuild``: built anew, as when the lake gained records) with Appendix C and the contractor register as the
    lake holds them for the figures beside the ranking; the country tables of ``data_dir`` as context."""
    lake = Lake(home)
    try:
        appendix = appendix_c_rows(lake.current("petition_recruiter").to_pylist())
        register = contractor_register(lake.current("recruiter").to_pylist())
    finally:
        lake.close()
    if rebuild:  # features kept as of the day predate the records the lake just gained: built anew
        features_dir(home, as_of).joinpath("cutoffs.json").unlink(missing_ok=True)
    features = features_as_of(home, as_of, ("recruiter",))["recruiter"]
    return foreign_recruiters(features, appendix, register, as_of, load_country_context(data_dir))


@flow_named("us-dol-foreign-recruiters")
def us_dol_recruiters_flow(
    data_dir: Path, home: Path, as_of: date, progress: Callable[[int, int, str], None] | None = None
) -> RecruiterList:
    """The DOL files into the lake (files already there add nothing), then the foreign recruiter listing from the
    recruiter features as of ``as_of``."""
    reports, _docs = ingest_flow(data_dir, "us-dol", home, None, 0, progress, PREFETCH)
    return recruiters_task(home, data_dir, as_of, any(r.new for r in reports if r.status == "committed"))
