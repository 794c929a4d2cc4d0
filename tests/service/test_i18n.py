"""The dashboard's languages: every string the dashboard shows (extracted from the code and templates as Babel's
``pybabel extract`` does) is translated in each catalogue with the same placeholders; the language is chosen from
the switch's cookie, the browser's Accept-Language, or English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

from service import i18n

SERVICE = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TRANSLATED = sorted(set(i18n.LANGUAGES) - {i18n.DEFAULT})


def _extracted() -> set[str | tuple[str, str]]:
    with (i18n.LOCALE_DIR / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(SERVICE), method_map, options_map):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


EXTRACTED = _extracted()


def test_extraction_finds_the_dashboard_strings() -> None:
    assert {"Sign in", "Record an inspection outcome", "Employers", "no region", "all other indicators"} <= EXTRACTED
    assert ("%(num)d red flag", "%(num)d red flags") in EXTRACTED
    with (i18n.LOCALE_DIR / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == EXTRACTED, "refresh service/locale/messages.pot (service/i18n.py says how)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogue_translates_every_string_with_its_placeholders(language: str) -> None:
    with i18n.catalogue_path(language).open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    by_id = {m.id: m for m in catalogue if m.id}
    missing = sorted(str(m) for m in EXTRACTED if m not in by_id)
    assert not missing, f"{language}: untranslated {missing[:5]}"
    for message in by_id.values():
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        source = message.id if isinstance(message.id, str) else message.id[1]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(strings) == (catalogue.num_plurals if isinstance(message.id, tuple) else 1)
        for text in strings:
            assert text.strip(), f"{language}: empty translation of {message.id!r}"
            if not isinstance(message.id, tuple):  # plural forms may leave the number out ("one red flag")
                assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(source)), (language, message.id)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9", None),
        ("de,es;q=0.5,ar;q=0.7", "ar"),
        ("ar-EG", "ar"),
        ("en-GB,fr", "en"),
        ("ES-es", "es"),
        ("es-419", "es"),
        ("fr;q=0,es;q=0.1", "es"),
        ("zz;q=not-a-number,fr", "fr"),
        ("*", None),
        ("", None),
    ],
)
def test_language_from_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_choose_prefers_the_switch_then_the_browser_then_english() -> None:
    assert i18n.choose("ar", "fr") == "ar"
    assert i18n.choose("xx", "fr") == "fr"
    assert i18n.choose(None, "de") == i18n.DEFAULT
    assert i18n.direction("ar") == "rtl" and i18n.direction("fr") == "ltr"


def test_templates_render_in_the_context_language() -> None:
    env = Environment(autoescape=True)
    i18n.install(env)
    template = env.from_string(
        "{{ _('Sign out') }}|{{ ngettext('%(num)d red flag', '%(num)d red flags', n) }}|{{ share|percent }}"
        "|{{ _('Welcome, %(name)s', name=who) }}|{{ day|isolate }}"
    )
    values = {"n": 3, "share": 0.125, "who": "<b>", "day": "2024-04-01"}
    assert template.render(lang="en", **values) == (
        "Sign out|3 red flags|12.5%|Welcome, &lt;b&gt;|<bdi>2024-04-01</bdi>"
    )
    assert template.render(lang="fr", **values).startswith("Se déconnecter|3 signaux d'alerte|12,5")
    assert template.render(lang="es", n=1, share=0.5, who="x", day="d").startswith("Cerrar sesión|1 señal de alerta")
    assert template.render(lang="ar", **values).startswith("تسجيل الخروج|3 علامات تحذير")
