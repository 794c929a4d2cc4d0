"""Name keys in every script: variants share a key, different names keep different keys, a name with no letter
or digit has none and is never merged; a landing zone naming sponsors and recruiters in many scripts keeps
each on its own entity."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rigour.text.translit import ascii_text

from data_contracts.names import (
    _DOTTED_INITIAL,
    NATIVE_LEGAL_FORMS,
    ascii_by_word,
    name_key,
    name_key_sql,
    register_name_key,
)
from features.build import build_features
from features.views import create_views
from simulator.scripts import SCRIPTS, write_word
from tests.features.test_build import ingest_folder

# (registration number, registered name, the name as an application writes it), one sponsor per script.
SPONSORS = (
    ("RN1", "شركة النور للتوظيف", "شركة النور للتوظيف"),
    ("RN2", "ООО Ромашка", "Общество с ограниченной ответственностью Ромашка"),
    ("RN3", "北京人力资源有限公司", "北京人力资源有限公司"),
    ("RN4", "भारत मानव संसाधन प्राइवेट लिमिटेड", "भारत मानव संसाधन प्राइवेट लिमिटेड"),
    ("RN5", "บริษัท สยาม แรงงาน จำกัด", "บริษัท สยาม แรงงาน จำกัด"),
    ("RN6", "Müller GmbH", "MULLER G.m.b.H."),
    ("RN7", "Al Noor Trading W.L.L.", "AL NOOR TRADING WLL"),
    ("RN8", "Ελληνική Εργασία ΑΕ", "Ελληνική Εργασία Α.Ε."),
)
# Latin words the simulator writes in each of its scripts (simulator.scripts.write_word).
WORDS = ("Golden", "Harvest", "Jasmine", "Khalid", "Shevchenko", "Thanh", "Ajay", "Gupta", "Works", "12")
# Sponsors in no register, in scripts the register also uses: each must stay unattached.
UNREGISTERED_SPONSORS = ("شركة الفجر للتوظيف", "ООО Василёк", "上海人力资源有限公司")
# Recruiters in no register: each its own unregistered recruiter; the last has no key and makes none.
UNREGISTERED_RECRUITERS = ("مكتب الأمل للاستقدام", "Агентство Восток", "ABC 人力", "สมชาย จัดหางาน", "--?--")


@pytest.mark.parametrize(
    "variants",
    [
        ("Müller GmbH", "Muller GmbH", "MÜLLER G.m.b.H.", "muller"),
        ("Al Noor W.L.L.", "Al Noor WLL", "AL NOOR, W.L.L"),
        ("Ströer S.A.R.L.", "Stroer SARL", "Ströer"),
        ("Maju Jaya Sdn. Bhd.", "Maju Jaya Sdn Bhd", "PT Maju Jaya"),
        ("Lion Pte. Ltd.", "Lion Pte Ltd", "LION"),
        ("ООО Ромашка", "OOO Romashka", "Общество с ограниченной ответственностью Ромашка"),
        ("Sunrise Agro Fields Ltd", "SUNRISE AGRO FIELDS", "Sunrise Agro Fields Limited"),
        ("Golden Agri Company 12 Pvt Ltd", "GOLDEN AGRI COMPANY 12 PRIVATE LIMITED"),
        ("A.W. Shrubs", "A. W. SHRUBS", "AW Shrubs, Inc."),
        ("20 Mile Sheep LLC #02810", "20 MILE SHEEP #02810"),
    ],
)
def test_variants_share_a_key(variants: tuple[str, ...]) -> None:
    keys = {name_key(v) for v in variants}
    assert len(keys) == 1 and "" not in keys, keys


def test_every_script_gets_its_own_non_empty_key() -> None:
    names = [registered for _, registered, _ in SPONSORS] + list(UNREGISTERED_SPONSORS)
    names += list(UNREGISTERED_RECRUITERS[:-1])
    keys = [name_key(n) for n in names]
    assert all(keys), dict(zip(names, keys, strict=True))
    assert len(set(keys)) == len(keys), dict(zip(names, keys, strict=True))


def test_transliterating_word_by_word_gives_the_whole_names_transliteration() -> None:
    written = [" ".join(write_word(w, script) for w in WORDS) for script in SCRIPTS]
    mixed = ["ООО Shevchenko Agro", "Ромашка  ООО", "Al Noor للتوظيف W.L.L.", " Ελληνική\u00a0Εργασία "]
    names = [n for sponsor in SPONSORS for n in sponsor[1:]] + list(UNREGISTERED_SPONSORS)
    names += list(UNREGISTERED_RECRUITERS) + written + mixed
    assert all(not n.isascii() for n in written[1:])
    for name in names:
        assert ascii_by_word(name) == ascii_text(name), name


def test_the_shortcuts_of_a_key_skip_nothing_they_would_change() -> None:
    # name_key looks for native legal forms only in names that are not ASCII, and for dotted initials only in
    # names with a full stop.
    assert all(not form.isascii() for form in NATIVE_LEGAL_FORMS)


@given(st.text(alphabet=st.sampled_from("aAbZ. ,-\u00a0\t1"), max_size=30))
def test_dotted_initials_are_only_read_where_a_full_stop_is(text: str) -> None:
    if "." not in text:
        assert _DOTTED_INITIAL.sub(r"\1", text) == text


def test_names_differing_in_words_or_numbers_keep_different_keys() -> None:
    assert name_key("Golden Harvest 12 Ltd") != name_key("Golden Harvest 13 Ltd")
    assert name_key("Al Noor Trading W.L.L.") != name_key("Al Noor Contracting W.L.L.")
    # A name made of nothing but legal forms keeps them.
    assert name_key("Ltd") == "ltd"
    assert name_key("Pvt. Ltd.") == "pvt ltd"


@pytest.mark.parametrize("name", ["", "   ", "--?--", "!!!", "( )"])
def test_a_name_without_letters_or_digits_has_no_key(name: str) -> None:
    assert name_key(name) == ""
    con = duckdb.connect()
    register_name_key(con)
    assert con.execute(f"SELECT {name_key_sql('$n')}", {"n": name}).fetchall() == [(None,)]


def test_sql_and_python_keys_agree() -> None:
    names = [n for row in SPONSORS for n in row[1:]] + list(UNREGISTERED_RECRUITERS) + [None]
    con = duckdb.connect()
    register_name_key(con)
    register_name_key(con)  # idempotent
    con.execute("CREATE TABLE names (name VARCHAR)")
    con.executemany("INSERT INTO names VALUES (?)", [(n,) for n in names])
    got = dict(con.execute(f"SELECT name, {name_key_sql('name')} FROM names WHERE name IS NOT NULL").fetchall())
    assert got == {n: (name_key(n) or None) for n in names if n is not None}
    assert con.execute(f"SELECT {name_key_sql('name')} FROM names WHERE name IS NULL").fetchall() == [(None,)]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _landing_zone(folder: Path) -> dict[str, str | None]:
    """Register, recruiters and applications naming sponsors in eight scripts; returns each application's
    expected employer (None: in no register)."""
    folder.mkdir()
    _write(
        folder / "organisation.csv",
        [
            {
                "record_id": f"O{reg}",
                "source": "register",
                "registration_no": reg,
                "name": name,
                "sector": "other",
                "country": "Aldoria",
                "region": "Aldoria-R1",
                "registered_on": "2015-01-01",
            }
            for reg, name, _ in SPONSORS
        ],
    )
    _write(
        folder / "recruiter.csv",
        [
            {
                "record_id": "R1",
                "source": "registry",
                "recruiter_ref": "RA1",
                "name": "Good Hire Agency",
                "agency_type": "licensed_agency",
                "licence_id": "LIC-1",
                "licence_status": "active",
                "licence_valid_from": "2015-01-01",
                "registered_on": "2015-01-01",
            }
        ],
    )
    expected: dict[str, str | None] = {}
    applications = []
    named = [(reg, name) for reg, registered, written in SPONSORS for name in (registered, written)]
    named += [(None, name) for name in UNREGISTERED_SPONSORS]
    for i, (reg, sponsor) in enumerate(named):
        application_id = f"A{i}"
        expected[application_id] = reg
        applications.append(
            {
                "record_id": application_id,
                "source": "visa",
                "application_id": application_id,
                "post_id": "ALD-MAN",
                "desk_officer_id": "CO1",
                "visa_class": "work",
                "applicant_id": f"P{i}",
                "sponsor_name": sponsor,
                "submitted_at": "2024-01-02T10:00:00",
                "decision": "pending",
                "recruiter_name": UNREGISTERED_RECRUITERS[i % len(UNREGISTERED_RECRUITERS)],
            }
        )
    _write(folder / "visa_application.csv", applications)
    return expected


def test_a_landing_zone_in_many_scripts_keeps_each_sponsor_on_its_own_entity(tmp_path: Path) -> None:
    expected = _landing_zone(tmp_path / "landing")
    lake = ingest_folder(tmp_path / "home", tmp_path / "landing")
    as_of = date(2024, 6, 30)
    try:
        con = duckdb.connect()
        create_views(con, lake, as_of, 365, event_time=True)
        employer_of = dict(con.execute("SELECT application_id, employer_id FROM va").fetchall())
        assert employer_of == expected
        recruiters = dict(con.execute("SELECT application_id, recruiter_id FROM va").fetchall())
        keyless = UNREGISTERED_RECRUITERS.index("--?--")
        for i, application_id in enumerate(sorted(expected, key=lambda a: int(a[1:]))):
            recruiter = UNREGISTERED_RECRUITERS[i % len(UNREGISTERED_RECRUITERS)]
            want = None if i % len(UNREGISTERED_RECRUITERS) == keyless else f"unregistered:{name_key(recruiter)}"
            assert recruiters[application_id] == want, (application_id, recruiter)
        for name_map in ("employer_name_map", "recruiter_name_map"):
            empty = f"SELECT count(*) FROM {name_map} WHERE name_key IS NULL OR name_key = ''"
            assert con.execute(empty).fetchall() == [(0,)]
        tables = build_features(lake, as_of, event_time=True)
        employers = set(tables["employer"].table.column("entity_id").to_pylist())
        assert employers == {reg for reg, _, _ in SPONSORS}
        recruiter_ids = set(tables["recruiter"].table.column("entity_id").to_pylist())
        unregistered = {r for r in recruiter_ids if r.startswith("unregistered:")}
        assert unregistered == {f"unregistered:{name_key(n)}" for n in UNREGISTERED_RECRUITERS[:keyless]}
        assert "unregistered:" not in recruiter_ids
    finally:
        lake.close()
