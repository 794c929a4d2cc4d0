"""Entity resolution across scripts: a sponsor written in Arabic letters on a record and in Latin letters on the
register is linked as possibly the same (by the sound skeleton of its name), never merged; different sponsors
written in Arabic stay apart."""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks.er_bench import per_script
from data_contracts.lake import Lake
from data_contracts.names import name_key
from features.entity_resolution import MIN_SKELETON, _skeleton, resolve_names
from features.views import create_views
from tests.features.test_entity_resolution import AS_OF, WINDOW_DAYS, _tables, world_lake

__all__ = ["world_lake"]  # the tiny world ingested (a fixture)


def _skeletons(*names: str) -> list[str]:
    con = duckdb.connect()
    return [con.execute(f"SELECT {_skeleton('$k')}", {"k": name_key(n)}).fetchall()[0][0] for n in names]


def test_spellings_in_other_scripts_share_the_sound_skeleton() -> None:
    latin, arabic, cyrillic, devanagari, thai = _skeletons(
        "Golden Agro Harvest 12 Ltd",
        "غولدن اغرو هارفست ١٢ ذ.م.م",
        "ООО Голден Агро Харвест 12",
        "गॊल्दॆन् अग्रॊ हर्वॆस्त् १२ प्राइवेट लिमिटेड",
        "บริษัท โกลเดน จำกัด",
    )
    assert latin == arabic == cyrillic == devanagari == "kltnkrfst12"
    assert thai == "kltn"  # too short to compare (MIN_SKELETON)
    assert len(thai) < MIN_SKELETON
    assert len(set(_skeletons("Jade Overseas Careers 18 LLC", "ООО Джаде Оверсеас Карирс 18"))) == 1
    al_noor, al_fajr = _skeletons("Al Noor Manpower W.L.L.", "الفجر مانباور")
    assert al_noor == _skeletons("النور مانباور ذ.م.م")[0] != al_fajr


def test_latin_and_arabic_spellings_of_one_sponsor_are_possibly_the_same() -> None:
    con = duckdb.connect()
    _tables(
        con,
        ["Al Noor Manpower W.L.L.", "Golden Agro Harvest 12 Ltd", "Golden Agro Harvest 13 Ltd"],
        [
            "النور مانباور ذ.م.م",  # Al Noor Manpower W.L.L. in Arabic letters
            "غولدن اغرو هارفست ١٢ ذ.م.م",  # Golden Agro Harvest 12, Arabic-Indic digits
            "AL NOOR MANPOWER WLL",  # exact key
        ],
    )
    employer, _ = resolve_names(con)
    assert (employer.names, employer.matched_exact, employer.matched_fuzzy) == (3, 1, 0)
    possible = con.execute("SELECT name_key, entity_id, probability FROM possible_links ORDER BY 1").fetchall()
    assert [(k, e) for k, e, _ in possible] == [("alnwr manbawr", "RN0"), ("ghwldn aghrw harfst 12", "RN1")]
    assert all(0.5 <= p < 0.95 for _, _, p in possible)
    mapped = dict(con.execute("SELECT name_key, employer_id FROM employer_name_map").fetchall())
    assert "alnwr manbawr" not in mapped and "ghwldn aghrw harfst 12" not in mapped


def test_different_sponsors_in_arabic_are_not_merged() -> None:
    con = duckdb.connect()
    _tables(
        con,
        ["شركة النور للتوظيف", "شركة النور للتوريد", "Al Noor Manpower W.L.L."],
        [
            "النور للتوظيف ذ.م.م",  # the first, its legal form written differently: same key
            "النور للتوريد",  # the second
            "شركة الفجر للتوظيف",  # another sponsor, in no register
            "الفجر مانباور",  # another, whose last word sounds like the third's
        ],
    )
    employer, _ = resolve_names(con)
    assert (employer.names, employer.matched_exact, employer.matched_fuzzy) == (4, 2, 0)
    mapped = dict(con.execute("SELECT name_key, employer_id FROM employer_name_map").fetchall())
    assert mapped[name_key("النور للتوظيف ذ.م.م")] == "RN0"
    assert mapped[name_key("النور للتوريد")] == "RN1"
    assert name_key("شركة الفجر للتوظيف") not in mapped and name_key("الفجر مانباور") not in mapped
    possible = {k: e for _, k, e, _ in con.execute("SELECT * FROM possible_links").fetchall()}
    assert possible.get(name_key("الفجر مانباور")) is None


def test_names_in_other_scripts_on_a_world_are_linked_to_their_own_entity(world_lake: tuple[Path, Lake]) -> None:
    """On the tiny world (names in Arabic, Cyrillic and Thai letters on a share of the employers' records, in
    Devanagari, Bengali and Cyrillic on the recruiters'): no spelling in any script is attached or possibly linked
    to another entity, and every Arabic spelling of a registered employer is at least possibly the same as it."""
    world, lake = world_lake
    con = duckdb.connect()
    create_views(con, lake, AS_OF, WINDOW_DAYS, resolve=False)
    resolve_names(con)
    employer = per_script(con, world, "employer", possible=True)
    recruiter = per_script(con, world, "recruiter", possible=True)
    assert {"Latin", "Arabic", "Cyrillic", "Thai"} <= set(employer)
    assert set(recruiter) - {"Latin"} <= {"Devanagari", "Bengali", "Cyrillic"} and len(recruiter) > 1, recruiter
    for script, row in [*employer.items(), *recruiter.items()]:
        assert row["precision"] >= 0.98 and row["possible_precision"] >= 0.98, (script, row)
    arabic = employer["Arabic"]
    assert arabic["recall"] + (1 - arabic["recall"]) * arabic["possible_recall"] >= 0.95, arabic
