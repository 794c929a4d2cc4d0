"""Names in other scripts: a share of the records write an organisation's name in the script of its country's
offices (realism.name_script_share), the truth's identity map holds every such spelling, and the ingest's name
keys read each back to Latin letters."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from rigour.text.scripts import text_scripts

from data_contracts.names import name_key
from simulator.config import Realism, SimulationConfig
from simulator.geography import DESTINATION_COUNTRIES, ORIGIN_COUNTRIES
from simulator.scripts import DESTINATION_SCRIPT, LATIN, ORIGIN_SCRIPT, SCRIPTS, respell, write_names
from simulator.text import N_VARIANTS, SCRIPT_VARIANT
from simulator.truth import load_truth
from simulator.world import simulate_world


def _export(world: Path, record_type: str) -> str:
    return f"read_parquet('{world}/export/{record_type}/*.parquet', union_by_name=true)"


def _scripts(name: str) -> set[str]:
    return text_scripts(name) - {"Common", "Inherited"}


def test_every_script_is_written_and_read_back_with_its_words() -> None:
    base = pa.array(["Golden Agro Harvest 12", "Crystal Manpower Overseas 7"])
    canonical = pa.array(["Golden Agro Harvest 12 Ltd", "Crystal Manpower Overseas 7 LLC"])
    for s, script in enumerate(SCRIPTS):
        written = write_names(base, canonical, np.full(2, s)).to_pylist()
        if script == LATIN:
            assert written == canonical.to_pylist()
            continue
        for name, latin in zip(written, canonical.to_pylist(), strict=True):
            assert _scripts(name) == {script}, (script, name)
            key, latin_key = name_key(name), name_key(latin)
            # Read back in ASCII with the number kept and the legal form dropped: as many words (Thai is read
            # back syllable by syllable).
            assert key.isascii() and key.split()[-1] == latin_key.split()[-1], (script, name, key)
            if script != "Thai":
                assert len(key.split()) == len(latin_key.split()), (script, name, key)


def test_phonetic_spelling() -> None:
    assert [respell(w) for w in ("phoenix", "crystal", "central", "green", "food", "quay")] == [
        "foeniks",
        "kristal",
        "sentral",
        "grin",
        "fud",
        "kwai",
    ]


def test_country_scripts_name_known_countries() -> None:
    assert set(DESTINATION_SCRIPT) == set(DESTINATION_COUNTRIES)
    assert set(ORIGIN_SCRIPT) <= set(ORIGIN_COUNTRIES)
    assert set(DESTINATION_SCRIPT.values()) | set(ORIGIN_SCRIPT.values()) == set(SCRIPTS)


def test_names_in_script_as_configured(small_world: Path) -> None:
    """Of the applications naming an employer of a destination that writes another script, about
    name_script_share carry its name in that script; employers of Latin-script destinations never do."""
    share = Realism().name_script_share
    con = duckdb.connect()
    con.register("names", load_truth(small_world, "employer_names"))
    rows = con.execute(f"""
        WITH scripted AS (
            SELECT registration_no, max(CASE WHEN variant = {SCRIPT_VARIANT} THEN name_variant END) AS written,
                   max(CASE WHEN variant = 0 THEN name_variant END) AS canonical
            FROM names GROUP BY 1)
        SELECT s.written <> s.canonical AS other_script,
               avg(CASE WHEN v.sponsor_name = s.written AND s.written <> s.canonical THEN 1.0 ELSE 0.0 END),
               count(*)
        FROM {_export(small_world, "visa_application")} v
        JOIN scripted s ON v.sponsor_registration_no = s.registration_no
        WHERE v.sponsor_name IS NOT NULL
        GROUP BY 1 ORDER BY 1""").fetchall()
    (latin, latin_share, _), (other, other_share, n) = rows
    assert not latin and latin_share == 0.0
    assert other
    se = np.sqrt(share * (1 - share) / n)
    assert abs(other_share - share) < 4 * se + 0.01, (other_share, n)


def test_identity_map_holds_each_spelling_in_its_country_script(small_world: Path) -> None:
    names = load_truth(small_world, "employer_names").to_pylist()
    assert len(names) % N_VARIANTS == 0
    organisations = duckdb.connect().execute(
        f"SELECT DISTINCT registration_no, country FROM {_export(small_world, 'organisation')}"
    )
    country = {reg: c for reg, c in organisations.fetchall() if c in DESTINATION_SCRIPT}  # not malformed
    seen: set[str] = set()
    for row in names:
        if row["variant"] != SCRIPT_VARIANT or row["registration_no"] not in country:
            continue
        script = DESTINATION_SCRIPT[country[row["registration_no"]]]
        seen.add(script)
        expected = {script} if script != LATIN else {LATIN}
        assert _scripts(row["name_variant"]) == expected, row
        assert name_key(row["name_variant"]), row
    assert seen == {LATIN, "Arabic", "Cyrillic", "Thai"}
    recruiters = load_truth(small_world, "recruiter_names").to_pylist()
    written = {s for r in recruiters if r["variant"] == SCRIPT_VARIANT for s in _scripts(r["name_variant"])}
    assert written == {LATIN, "Devanagari", "Bengali", "Cyrillic"}


@pytest.mark.parametrize("record_type", ["visa_application", "labour_inspection", "enforcement_outcome"])
def test_no_script_share_writes_latin_only(tmp_path: Path, record_type: str) -> None:
    cfg = SimulationConfig(realism=Realism(name_script_share=0.0))
    world = tmp_path / "w"
    simulate_world("tiny", 5, world, cfg, workers=1)
    columns = {
        "visa_application": ("sponsor_name", "recruiter_name"),
        "labour_inspection": ("worksite_name", "labour_contractor_name"),
        "enforcement_outcome": ("entity_name",),
    }[record_type]
    con = duckdb.connect()
    for column in columns:
        (other,) = con.execute(
            f"SELECT count(*) FROM {_export(world, record_type)} WHERE regexp_matches({column}, '[^\\x00-\\x7F]')"
        ).fetchall()[0]
        assert other == 0, (record_type, column)
