"""Country tables of ../shared/data/country_indices as context baselines (INDICATORS.md "Context
baselines (never a score on their own)").

Each table is declared once below with its column mapping and the day a year's figure is public (a value is
used as of a date only from then on). Countries are matched by ISO 3166 alpha-3 code: the TIP and WGI tables
carry codes with their names, the other tables and the DOL files carry names only; ``ALIASES`` declares the
spellings neither table has.

These figures describe where an organisation (a recruiter) is registered or operates. They are shown beside a
score as context and are never a model feature, and they are never joined to a worker's nationality (DESIGN.md
principle 2): the nationality-level visa issuance tables are not read at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd

COUNTRY_DIR = "country_indices"


class DolDataError(ValueError):
    """The data folder lacks a declared country table or one of its columns (message for the person running it)."""


@dataclass(frozen=True)
class CountryTable:
    """One country table: key, title, path under the data folder, encoding, layout, column mapping (source
    column -> country / iso3 / year / value / good / child_labour / forced_labour), a row filter, the value
    that means missing, and when a year's figure is public: (years after the year, month) -> the 1st of it."""

    key: str
    title: str
    path: str
    encoding: str
    layout: Literal["long", "wide_years", "goods_list"]
    columns: dict[str, str]
    published: tuple[int, int]
    keep: tuple[str, str] | None = None
    missing: float | None = None
    list_year: int | None = None  # a list with no year column: the year it was published

    def available_from(self, year: int) -> date:
        return date(year + self.published[0], self.published[1], 1)


COUNTRY_TABLES: tuple[CountryTable, ...] = (
    CountryTable(
        "tip_tier",
        "US Trafficking in Persons report tier",
        "country_indices/us_tip_tiers/tip_tiers_orig.csv",
        "utf-8",
        "long",
        {"countryname": "country", "iso": "iso3", "year": "year", "tier": "label"},
        published=(0, 7),  # the report of year Y comes out in June of Y
    ),
    CountryTable(
        "cpi",
        "Transparency International Corruption Perceptions Index (0-10, higher is cleaner)",
        "country_indices/ti_cpi/cpi.csv",
        "latin-1",
        "wide_years",
        {"country": "country"},
        published=(1, 2),  # the index of year Y comes out in December of Y or early in Y + 1
        missing=0.0,
    ),
    CountryTable(
        "wgi_control_of_corruption",
        "World Bank WGI control of corruption (about -2.5 to 2.5, higher is cleaner)",
        "country_indices/wgi_governance/2020_Worldwide_Governance_Indicators_1996-2019.csv",
        "latin-1",
        "long",
        {"Country/Territory": "country", "Code": "iso3", "Year": "year", "Estimate": "value"},
        published=(1, 10),  # the figures of year Y come out in September of Y + 1
        keep=("Indicator", "ControlofCorruption"),
    ),
    CountryTable(
        "ilab_goods",
        "US DOL list of goods produced by child labour or forced labour (TVPRA)",
        "country_indices/dol_ilab_goods_lists/child_labor.csv",
        "utf-8",
        "goods_list",
        {"Country": "country", "Good": "good", "Child Labor": "child_labour", "Forced Labor": "forced_labour"},
        published=(0, 10),  # the 2016 list came out on 30 September 2016
        list_year=2016,
    ),
)
BY_KEY = {t.key: t for t in COUNTRY_TABLES}

# Spellings (as ``country_key`` reduces them) that neither the TIP nor the WGI table carries with a code.
ALIASES: dict[str, str] = {
    "united states of america": "USA",
    "the united states of america": "USA",
    "usa": "USA",
    "taiwan": "TWN",
    "macedonia": "MKD",
    "fyr macedonia": "MKD",
    "the fyr of macedonia": "MKD",
    "macedonia former yugoslav republic of": "MKD",
    "czech rep": "CZE",
    "czech republik": "CZE",
    "south korea": "KOR",
    "korea south": "KOR",
    "korea north": "PRK",
    "north korea": "PRK",
    "russia": "RUS",
    "iran": "IRN",
    "syria": "SYR",
    "venezuela": "VEN",
    "laos": "LAO",
    "ivory coast": "CIV",
    "burma": "MMR",
    "brunei": "BRN",
    "dominican rep": "DOM",
    "bosnia herzegovina": "BIH",
    "trinidad tobago": "TTO",
    "sao tome principe": "STP",
    "the netherlands": "NLD",
    "luxemburg": "LUX",
    "kuweit": "KWT",
    "moldovaa": "MDA",
    "taijikistan": "TJK",
    "unit kingd": "GBR",
    "palestine": "PSE",
    "palestinian authority": "PSE",
    "macau": "MAC",
    "democratic republic of the congo": "COD",
    "democratic republic of congo": "COD",
    "the democratic republic of congo": "COD",
    "congo democratic republic": "COD",
    "congo republic": "COG",
    "congo republic of": "COG",
    "congo republic of the": "COG",
    "republic of congo": "COG",
    "congo brazzaville": "COG",
}


def country_key(name: object) -> str:
    """A country name reduced for matching: lower case, letters and digits, single spaces."""
    return re.sub(r"[^a-z0-9]+", " ", str(name).lower()).strip() if isinstance(name, str) else ""


def _read(data_dir: Path, table: CountryTable) -> pd.DataFrame:
    path = data_dir / table.path
    if not path.is_file():
        raise DolDataError(f"{path} not found: is --data-dir the ../shared/data folder?")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=table.encoding)
    missing = sorted((set(table.columns) | ({table.keep[0]} if table.keep else set())) - set(raw.columns))
    if missing:
        raise DolDataError(f"{path}: declared columns {missing} are not in the file")
    if table.keep:
        raw = raw[raw[table.keep[0]] == table.keep[1]]
    return raw


def country_codes(data_dir: Path) -> dict[str, str]:
    """Country name key -> ISO alpha-3 code, from the tables that carry both, then ``ALIASES``."""
    codes: dict[str, str] = {}
    for table in COUNTRY_TABLES:
        names = {v: k for k, v in table.columns.items()}
        if "iso3" not in names:
            continue
        raw = _read(data_dir, table)
        for name, code in zip(raw[names["country"]], raw[names["iso3"]], strict=True):
            if code and code != "NA":
                codes.setdefault(country_key(name), code)
    return {**codes, **ALIASES}


def load_country_tables(data_dir: Path, codes: dict[str, str] | None = None) -> pd.DataFrame:
    """Every declared table as long rows: table, iso3, country (as written), year, value, label, available_from.

    Rows whose country has no code are dropped (``unmatched_countries`` lists them)."""
    codes = codes if codes is not None else country_codes(data_dir)
    frames = []
    for table in COUNTRY_TABLES:
        raw = _read(data_dir, table).rename(columns=table.columns)
        if table.layout == "wide_years":
            years = [c for c in raw.columns if re.fullmatch(r"\d{4}", c)]
            long = raw.melt(id_vars=["country"], value_vars=years, var_name="year", value_name="value")
            long["value"] = pd.to_numeric(long["value"], errors="coerce")
            if table.missing is not None:
                long = long[long["value"] != table.missing]
            long["label"] = long["value"].map(lambda v: f"{v:.1f}")
        elif table.layout == "goods_list":  # one row per country: how many goods, with child / forced labour
            raw["forced"] = raw["forced_labour"].str.strip().str.upper().eq("X")
            raw["child"] = raw["child_labour"].str.strip().str.upper().eq("X")
            grouped = raw.groupby("country", sort=True)
            long = pd.DataFrame(
                {
                    "value": grouped.size().astype(float),
                    "label": [
                        f"{len(g)} goods (child labour {int(g['child'].sum())}, forced labour {int(g['forced'].sum())})"
                        for _, g in grouped
                    ],
                }
            ).reset_index()
            long["year"] = table.list_year
        else:
            long = raw.copy()
            if "value" in long:
                long["value"] = pd.to_numeric(long["value"], errors="coerce")
                long["label"] = long["value"].map(lambda v: f"{v:.2f}")
            else:
                long["label"] = long["label"].str.strip().where(lambda s: ~s.isin(["", "NA"]))
                long["value"] = long["label"].map(tier_number, na_action="ignore")
            long = long.dropna(subset=["label"])
        if "iso3" not in long:
            long["iso3"] = long["country"].map(country_key).map(codes)
        long["year"] = pd.to_numeric(long["year"], errors="coerce").astype("Int64")
        long = long.dropna(subset=["iso3", "year"])
        long["available_from"] = pd.to_datetime([table.available_from(int(y)) for y in long["year"]])
        long["table"] = table.key
        frames.append(long[["table", "iso3", "country", "year", "value", "label", "available_from"]])
    out = pd.concat(frames, ignore_index=True)
    # A country written several ways in one year (CPI): the first spelling's figure.
    return out.drop_duplicates(["table", "iso3", "year"]).reset_index(drop=True)


def tier_number(label: str) -> float | None:
    """TIP tier as a number: Tier 1 = 1, Tier 2 = 2, Watchlist (Tier 2 watch list) = 2.5, Tier 3 = 3."""
    text = label.strip().lower()
    if "watch" in text:
        return 2.5
    found = re.search(r"([123])", text)
    return float(found.group(1)) if found else None


def context_as_of(tables: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per country (index iso3) and table: the latest year's figure public before ``as_of`` (columns
    ``<table>``, ``<table>_year``, ``<table>_label``)."""
    known = tables[tables["available_from"] < pd.Timestamp(as_of)]
    latest = known.sort_values("year").drop_duplicates(["table", "iso3"], keep="last")
    out = pd.DataFrame(index=pd.Index(sorted(latest["iso3"].unique()), name="iso3"))
    for table in COUNTRY_TABLES:
        rows = latest[latest["table"] == table.key].set_index("iso3")
        out[table.key] = rows["value"].reindex(out.index)
        out[f"{table.key}_year"] = rows["year"].reindex(out.index)
        out[f"{table.key}_label"] = rows["label"].reindex(out.index)
    return out


CONTEXT_TEXT = {
    "tip_tier": "US TIP report {label} ({year})",
    "cpi": "TI CPI {label}/10 ({year})",
    "wgi_control_of_corruption": "WGI control of corruption {label} ({year})",
    "ilab_goods": "US DOL goods list: {label} ({year} list)",
}


def context_text(row: pd.Series) -> str:
    """One country's context figures in words (those public at the date ``context_as_of`` was taken)."""
    parts = []
    for table in COUNTRY_TABLES:
        label = row.get(f"{table.key}_label")
        if isinstance(label, str) and label:
            parts.append(CONTEXT_TEXT[table.key].format(label=label, year=int(row[f"{table.key}_year"])))
    return "; ".join(parts)


@dataclass
class CountryContext:
    """The country tables and the name -> code map, loaded once; ``for_names`` gives context as of a date."""

    tables: pd.DataFrame
    codes: dict[str, str]

    def for_names(self, names: pd.Series, as_of: date) -> pd.DataFrame:
        """Per name of ``names`` (same index): iso3, the figures public before ``as_of`` and their text."""
        iso3 = names.map(country_key).map(self.codes)
        figures = context_as_of(self.tables, as_of)
        out = figures.reindex(iso3.to_numpy())
        out.index = names.index
        out.insert(0, "iso3", iso3)
        out["context"] = [
            context_text(row) if isinstance(code, str) else ""
            for code, (_, row) in zip(iso3, out.iterrows(), strict=True)
        ]
        return out


def load_country_context(data_dir: Path) -> CountryContext:
    codes = country_codes(data_dir)
    return CountryContext(load_country_tables(data_dir, codes), codes)
