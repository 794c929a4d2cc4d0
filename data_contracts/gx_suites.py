"""Great Expectations suites generated from the contracts: one suite per record type, used to validate each
ingested batch (a frame of the contract's columns already parsed to their types) and to write Data Docs.

Every expectation carries the id of the row-level rule of ``data_contracts.rules`` it checks in its ``meta``
(``meta["rule_id"]``), so a failed expectation names the same rule a quarantined row names:

=====================================  ==========================================
expectation                            rule id
=====================================  ==========================================
column exists (every field)            ``<column>:missing_column``
not null (required fields)             ``<column>:missing``
in set (``values``)                    ``<column>:not_allowed``
between, min only (``min``)            ``<column>:below_min``
between, max only (``max``)            ``<column>:above_max``
value lengths (``max_length``)         ``<column>:too_long``
not matching control characters        ``<column>:control_character``
(strings without listed ``values``)
not matching ``rules.PLACEHOLDER``     ``<column>:placeholder``
(``code`` fields)
between, min = ``EARLIEST_DATE``       ``<column>:too_early``
(dates and datetimes)
between, max = ingest time             ``<column>:in_future``
column pair A >= B (``date_orders``)   ``<later>:before_<earlier>`` (a date against a datetime: by day,
                                       the datetime's day in a column ``<name>__day``)
unique ``record_id``                   ``record_id:duplicate_in_batch``
unique natural id (+ version column)   ``<natural_id>:duplicate_in_batch`` (GX only: no row rule quarantines it)
=====================================  ==========================================

The ``<column>:type`` rules have no expectation: the frame is already parsed, unparseable values are null.

Great Expectations is imported lazily (it costs seconds), with its analytics and progress bars off; nothing
here needs the network. The GX project is a file-mode context under ``home / "gx"``: expectation suites in
``gx/expectations/``, validation results in ``gx/uncommitted/validations/`` and the Data Docs site in
``gx/uncommitted/data_docs/local_site/`` (``index.html``), so results and docs accumulate across runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from data_contracts.contracts import EARLIEST_DATE, DateOrder, RecordContract, compared_by_day
from data_contracts.home import Home
from data_contracts.rules import CONTROL_CHARACTERS, PLACEHOLDER, declared_rules

if TYPE_CHECKING:
    import pandas as pd

# result_format of every validation: BASIC keeps counts and a few unexpected values for the Data Docs pages.
RESULT_FORMAT = "BASIC"
DOCS_SITE = "local_site"
RULE_ID = "rule_id"  # key of the rule id in each expectation's meta
DAY_SUFFIX = "__day"  # frame column of a datetime's calendar day, for date orders against a date
EARLIEST = datetime.combine(EARLIEST_DATE, time())  # the first moment a date or datetime field may hold

log = logging.getLogger(__name__)


def _gx() -> Any:
    """Import great_expectations offline: no analytics, no progress bars."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations

    return great_expectations


def natural_id_rule_id(contract: RecordContract) -> str:
    """Rule id of the GX-only uniqueness expectation on the contract's natural id."""
    return f"{contract.natural_id}:duplicate_in_batch"


def _naive(ts: datetime) -> datetime:
    # The row rules compare with the wall-clock ingest time as a naive TIMESTAMP (validate.py); do the same.
    return ts.replace(tzinfo=None)


def build_suite(
    contract: RecordContract,
    ingest_time: datetime,
    present: Collection[str] | None = None,
    unsupplied: Collection[str] = (),
) -> Any:
    """The expectation suite of ``contract`` (a ``gx.ExpectationSuite`` named after the record type).

    ingest_time: dates and datetimes of ``not_in_future`` fields must not be after it.
    present: the columns of the batch to validate. Like ``rules.field_rules``, an absent required column only
    gets its column-exists expectation (which fails: ``<column>:missing_column``) and an absent optional
    column gets none. ``None`` (the default) gives the full suite: column exists for every field.
    unsupplied: fields the source declares it does not supply: no expectation on them (``rules.skipped_rules``).
    """
    gx = _gx()
    gxe = gx.expectations
    now = _naive(ingest_time)
    described = dict(declared_rules(contract))
    described[natural_id_rule_id(contract)] = f"{' with '.join(contract.unique_key)} must be unique within the batch."
    cols = set(contract.columns) if present is None else set(present)

    expectations: list[Any] = []

    def add(expectation_class: Any, rule_id: str, **kwargs: Any) -> None:
        meta = {RULE_ID: rule_id, "rule": described.get(rule_id, rule_id), "contract": contract.name}
        expectations.append(expectation_class(meta=meta, **kwargs))

    for f in contract.fields:
        col = f.name
        if col not in cols and (not f.required or col in unsupplied):
            continue
        add(gxe.ExpectColumnToExist, f"{col}:missing_column", column=col)
        if col not in cols:
            continue
        if f.required:
            add(gxe.ExpectColumnValuesToNotBeNull, f"{col}:missing", column=col)
        if f.type == "string" and f.values is None:
            add(gxe.ExpectColumnValuesToNotMatchRegex, f"{col}:control_character", column=col, regex=CONTROL_CHARACTERS)
        if f.code:
            add(gxe.ExpectColumnValuesToNotMatchRegex, f"{col}:placeholder", column=col, regex=PLACEHOLDER)
        if f.values is not None:
            add(gxe.ExpectColumnValuesToBeInSet, f"{col}:not_allowed", column=col, value_set=list(f.values))
        if f.min is not None:
            add(gxe.ExpectColumnValuesToBeBetween, f"{col}:below_min", column=col, min_value=f.min)
        if f.max is not None:
            add(gxe.ExpectColumnValuesToBeBetween, f"{col}:above_max", column=col, max_value=f.max)
        if f.max_length is not None:
            add(gxe.ExpectColumnValueLengthsToBeBetween, f"{col}:too_long", column=col, max_value=f.max_length)
        if f.type in ("date", "datetime"):
            add(gxe.ExpectColumnValuesToBeBetween, f"{col}:too_early", column=col, min_value=EARLIEST)
        if f.not_in_future:
            add(gxe.ExpectColumnValuesToBeBetween, f"{col}:in_future", column=col, max_value=now)
    for order in contract.date_orders:
        if {order.earlier, order.later} <= cols:
            column_a, column_b = _pair_columns(contract, order)
            add(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB,
                f"{order.later}:before_{order.earlier}",
                column_A=column_a,
                column_B=column_b,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
    if "record_id" in cols:
        add(gxe.ExpectColumnValuesToBeUnique, "record_id:duplicate_in_batch", column="record_id")
    key = [c for c in contract.unique_key if c in cols]
    if contract.unique_natural_id and contract.natural_id in key and contract.natural_id != "record_id":
        if len(key) == 1:
            add(gxe.ExpectColumnValuesToBeUnique, natural_id_rule_id(contract), column=contract.natural_id)
        else:  # register versions: one row per natural id and version
            add(gxe.ExpectCompoundColumnsToBeUnique, natural_id_rule_id(contract), column_list=key)
    # Passing the expectations at construction keeps a suite that is already in a context's store from
    # persisting itself once per added expectation.
    return gx.ExpectationSuite(
        name=contract.name, expectations=expectations, meta={"contract": contract.name, "ingest_time": now.isoformat()}
    )


def expectation_rule_id(expectation: Any) -> str:
    """The rule id an expectation (or an expectation configuration) of a generated suite checks."""
    meta = expectation.meta or {}
    return str(meta.get(RULE_ID, "unknown"))


def _pair_columns(contract: RecordContract, order: DateOrder) -> tuple[str, str]:
    """The frame columns a date order compares: a datetime compared with a date by its day column."""
    if not compared_by_day(contract, order):
        return order.later, order.earlier
    later, earlier = (
        c + DAY_SUFFIX if contract.field(c).type == "datetime" else c for c in (order.later, order.earlier)
    )
    return later, earlier


def _normalise(contract: RecordContract, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns of ``frame`` with dtypes GX compares well: numbers float64, dates and datetimes
    naive datetime64 (nanoseconds where in range: GX's vectorised path), strings and booleans as given."""
    import pandas as pd

    out: dict[str, Any] = {}
    for f in contract.fields:
        if f.name not in frame.columns:
            continue
        s = frame[f.name]
        if f.type in ("integer", "number"):
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif f.type in ("date", "datetime"):
            s = pd.to_datetime(s, errors="coerce")
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_localize(None)
            with contextlib.suppress(OverflowError, ValueError):  # beyond 2262: keep the unit (compared per value)
                s = s.astype("datetime64[ns]")
        out[f.name] = s
    for order in contract.date_orders:
        if compared_by_day(contract, order):
            for c in (order.earlier, order.later):
                if contract.field(c).type == "datetime" and c in out:
                    out[c + DAY_SUFFIX] = out[c].dt.floor("D")
    return pd.DataFrame(out, index=frame.index)


def _safe(batch_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]", "_", batch_id) or "_"


@dataclass(frozen=True)
class GxBatchResult:
    success: bool
    evaluated_expectations: int
    failed_rule_ids: list[str]  # rule ids (from meta) of failed expectations, sorted, each once
    docs_page: Path | None  # the HTML page for this batch's validation result, if written


class GxBatchValidator:
    """Validates batches against the generated suites in a file-mode GX project under ``home / "gx"``.

    docs_per_batch: write each batch's Data Docs page in ``validate`` (about 0.1 s a batch) and return it as
    ``docs_page``; when False, ``validate`` returns ``docs_page=None`` and ``build_docs`` renders the pending
    pages. ``build_docs`` always refreshes the suites' pages and the index.
    """

    def __init__(self, home: Path, ingest_time: datetime, *, docs_per_batch: bool = True) -> None:
        gx = _gx()
        self.home = Path(home)
        self.root = Home(self.home).gx
        self.ingest_time = ingest_time
        self.docs_per_batch = docs_per_batch
        self.home.mkdir(parents=True, exist_ok=True)
        ctx: Any = gx.get_context(mode="file", project_root_dir=str(self.home))
        self._context = ctx
        self._configure()
        self._site_dir = Home(self.home).gx_docs / DOCS_SITE
        try:
            self._datasource: Any = ctx.data_sources.get("tracerisk")
        except (KeyError, ValueError, LookupError):
            self._datasource = ctx.data_sources.add_pandas("tracerisk")
        self._batch_definitions: dict[str, Any] = {}
        self._suites: dict[tuple[str, frozenset[str], frozenset[str]], Any] = {}
        self._stored_suites: set[str] = set()
        self._pending: list[Any] = []  # validation result keys whose pages are not written yet

    def _configure(self) -> None:
        variables = self._context.variables
        changed = False
        bars = variables.progress_bars
        if not bars or bars.get("globally") is not False or bars.get("metric_calculations") is not False:
            variables.progress_bars = {"globally": False, "metric_calculations": False}
            changed = True
        if variables.analytics_enabled is not False:
            variables.analytics_enabled = False
            changed = True
        site = dict((variables.data_docs_sites or {}).get(DOCS_SITE) or {})
        if site and site.get("show_how_to_buttons", True):
            site["show_how_to_buttons"] = False
            sites = dict(variables.data_docs_sites)
            sites[DOCS_SITE] = site
            variables.data_docs_sites = sites
            changed = True
        if changed:
            variables.save()

    def _batch_definition(self, contract: RecordContract) -> Any:
        if contract.name not in self._batch_definitions:
            try:
                asset = self._datasource.get_asset(contract.name)
            except LookupError:
                asset = self._datasource.add_dataframe_asset(contract.name)
            try:
                bd = asset.get_batch_definition("whole")
            except (KeyError, LookupError, ValueError):
                bd = asset.add_batch_definition_whole_dataframe("whole")
            self._batch_definitions[contract.name] = bd
        return self._batch_definitions[contract.name]

    def _suite(self, contract: RecordContract, present: frozenset[str], unsupplied: frozenset[str]) -> Any:
        if contract.name not in self._stored_suites:  # the full suite, for the suite's Data Docs page
            self._context.suites.add_or_update(build_suite(contract, self.ingest_time))
            self._stored_suites.add(contract.name)
        key = (contract.name, present, unsupplied)
        if key not in self._suites:
            self._suites[key] = build_suite(contract, self.ingest_time, present, unsupplied)
        return self._suites[key]

    def validate(
        self, contract: RecordContract, frame: pd.DataFrame, batch_id: str, unsupplied: Collection[str] = ()
    ) -> GxBatchResult:
        """Validate one batch: ``frame`` has the contract's columns present in the file, parsed to their types
        (missing or unparseable values null). Stores the result and (docs_per_batch) writes its page.
        unsupplied: fields the source declares it does not supply (their expectations are left out)."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        present = frozenset(c for c in frame.columns if c in set(contract.columns))
        suite = self._suite(contract, present, frozenset(unsupplied))
        data = _normalise(contract, frame)
        batch = self._batch_definition(contract).get_batch(batch_parameters={"dataframe": data})
        result: Any = batch.validate(suite, result_format=RESULT_FORMAT)
        failed = sorted({expectation_rule_id(r.expectation_config) for r in result.results if not r.success})
        for r in result.results:  # counted as failed; say why (e.g. a column of an unexpected dtype)
            info = r.exception_info or {}
            infos = [info] if "raised_exception" in info else [i for i in info.values() if isinstance(i, dict)]
            for i in infos:
                if i.get("raised_exception"):
                    log.warning(
                        "%s batch %s: expectation %s raised: %s",
                        contract.name,
                        batch_id,
                        expectation_rule_id(r.expectation_config),
                        i.get("exception_message"),
                    )
        result.meta["tracerisk"] = {
            "record_type": contract.name,
            "batch_id": batch_id,
            "rows": len(frame),
            "failed_rule_ids": failed,
        }
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=contract.name),
            run_id=RunIdentifier(run_name=_safe(batch_id), run_time=self.ingest_time),
            batch_identifier=_safe(batch_id),
        )
        self._context.validation_results_store.set(key, result)
        page: Path | None = None
        if self.docs_per_batch:
            self._context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[key], build_index=False)
            page = self._page(key)
        else:
            self._pending.append(key)
        return GxBatchResult(
            success=bool(result.success),
            evaluated_expectations=int(result.statistics["evaluated_expectations"]),
            failed_rule_ids=failed,
            docs_page=page,
        )

    def _page(self, key: Any) -> Path | None:
        *parts, last = key.to_tuple()
        page = self._site_dir.joinpath("validations", *parts, f"{last}.html")
        return page if page.exists() else None

    def build_docs(self) -> Path:
        """Write or refresh the Data Docs site (pending batch pages, the suites' pages, the index); return the
        path of its index.html."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        resources = [*self._pending, *(ExpectationSuiteIdentifier(name=n) for n in sorted(self._stored_suites))]
        if resources:
            self._context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=resources, build_index=True)
        else:
            self._context.build_data_docs(site_names=[DOCS_SITE])
        self._pending.clear()
        return self._site_dir / "index.html"
