"""Where everything a run writes lives: the layout of ``$TRACERISK_HOME`` and the URL of the published store.

Every folder and file under the home is named here once; code asks ``Home(path)`` (or ``Home.from_env()``) for
it instead of spelling the path out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

HOME_ENV = "TRACERISK_HOME"
STORE_URL_ENV = "TRACERISK_STORE_URL"
DEFAULT_HOME = Path("var")  # relative to the working directory


@dataclass(frozen=True)
class Home:
    """The folders and files under one home folder (nothing is created by asking for a path)."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        """``$TRACERISK_HOME``, default ``./var``."""
        return cls(Path(os.environ.get(HOME_ENV, str(DEFAULT_HOME))))

    # ------------------------------------------------------------ ingest
    @property
    def lake_catalogue(self) -> Path:
        """The DuckDB catalogue: the batch ledger and the record index."""
        return self.root / "lake.duckdb"

    @property
    def lake(self) -> Path:
        """Accepted rows: ``<record_type>/<seq>-<batch>.parquet``."""
        return self.root / "lake"

    @property
    def quarantine(self) -> Path:
        """Rejected rows with the rules they broke: ``<record_type>/<seq>-<batch>.parquet``."""
        return self.root / "quarantine"

    @property
    def gx(self) -> Path:
        """The Great Expectations file-mode project (its root is the home)."""
        return self.root / "gx"

    @property
    def gx_docs(self) -> Path:
        """Great Expectations Data Docs, one folder per site."""
        return self.gx / "uncommitted" / "data_docs"

    @property
    def pseudonym_key(self) -> Path:
        """The pseudonymisation key used when no variable names one (mode 0600)."""
        return self.root / "secrets" / "pseudonym.key"

    @property
    def world(self) -> Path:
        """The synthetic world ``tracerisk pipeline`` simulates and ingests."""
        return self.root / "world"

    @property
    def landing(self) -> Path:
        """Landing zones of files for the next ingest."""
        return self.root / "landing"

    @property
    def outcome_landing(self) -> Path:
        """Enforcement outcomes recorded through the service, one CSV file each."""
        return self.landing / "outcomes"

    @property
    def tmp(self) -> Path:
        """Scratch space (spilled joins, partition snapshots); never backed up."""
        return self.root / "tmp"

    # ------------------------------------------------------------ features and models
    @property
    def features(self) -> Path:
        return self.root / "features"

    def features_as_of(self, as_of: date) -> Path:
        """One feature build: ``<entity>.parquet`` and ``cutoffs.json``."""
        return self.features / f"as_of={as_of.isoformat()}"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model(self, model_id: str) -> Path:
        """One model bundle: ``bundle.json``, ``model.txt``, candidates and the model card."""
        return self.models / model_id

    def model_card(self, model_id: str) -> Path:
        return self.model(model_id) / "model-card.md"

    @property
    def registry(self) -> Path:
        """Each entity type's champion and the gate's decisions."""
        return self.models / "registry.json"

    @property
    def drift(self) -> Path:
        """Drift references per model and the retraining-due mark."""
        return self.root / "drift"

    def drift_reference(self, model_id: str) -> Path:
        """A model's feature distributions on its training data, computed once."""
        return self.drift / f"{model_id}.json"

    @property
    def retraining_due(self) -> Path:
        """Present while drift marks entity types due for retraining."""
        return self.drift / "retraining_due.json"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def evaluation_report(self) -> Path:
        return self.reports / "evaluation.json"

    def evaluation_report_as_of(self, as_of: date) -> Path:
        """The evaluation at one origin of a rolling backtest."""
        return self.reports / f"evaluation-{as_of.isoformat()}.json"

    @property
    def model_report(self) -> Path:
        return self.reports / "model-report.html"

    @property
    def rolling_backtest_report(self) -> Path:
        return self.reports / "rolling-backtest.json"

    # ------------------------------------------------------------ serving
    @property
    def serving_db(self) -> Path:
        """The published store's SQLite file when no store URL is set."""
        return self.root / "serving.db"

    @property
    def service_db(self) -> Path:
        """The service database beside the SQLite store (audit log, outcomes, worklists)."""
        return service_database_beside(self.serving_db)

    @property
    def audit_anchors(self) -> Path:
        """Audit anchors, one JSON line per checkpoint, when no anchor file is named."""
        return self.root / "audit-anchors.jsonl"

    @property
    def prefect(self) -> Path:
        """Prefect's own home when ``PREFECT_HOME`` is kept with the rest (as the deployment sets it)."""
        return self.root / "prefect"

    @property
    def sqlite_store_url(self) -> str:
        """The SQLite URL of ``serving_db`` (absolute)."""
        return f"sqlite:///{self.serving_db.resolve()}"

    def store_url(self) -> str:
        """``$TRACERISK_STORE_URL`` when set, else SQLite at ``serving_db``."""
        return os.environ.get(STORE_URL_ENV) or self.sqlite_store_url


def service_database_beside(store_file: Path) -> Path:
    """The service database of a SQLite store file: ``serving.db`` -> ``serving.service.sqlite``, same folder."""
    return store_file.with_name(f"{store_file.stem}.service.sqlite")
