"""The dashboard's languages: English (the source strings), French, Spanish and Arabic (right to left).

Catalogues are Babel/gettext ``.po`` files in ``service/locale/<language>/LC_MESSAGES/messages.po``, compiled in
memory on first use (no compiled ``.mo`` files are kept). A page's language is the one the user chose with the
language switch (a cookie), else the best match of the browser's Accept-Language, else English. The dashboard's
own strings are translated; indicator texts, model cards and validation messages from the data contracts stay in
English.

Refresh the catalogues after changing a string (then translate the new entries in each ``.po`` file; a test
fails while one is missing):
``pybabel extract -F service/locale/babel.cfg --no-location --sort-output -o service/locale/messages.pot service``
and ``pybabel update -i service/locale/messages.pot -d service/locale --ignore-obsolete`` (it rewraps long lines).
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT = "en"
LANGUAGES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}  # each in its own language
RIGHT_TO_LEFT = frozenset({"ar"})
LANGUAGE_COOKIE = "tracerisk_lang"
MAX_ACCEPT_LANGUAGE = 40  # language ranges read from one Accept-Language header

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues where it is defined; it is translated where it is shown."""
    return message


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``language`` (English: the source strings as they are)."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext_module.NullTranslations()
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


def gettext_for(language: str) -> Translate:
    return translations(language).gettext


def from_accept_language(header: str) -> str | None:
    """The best of LANGUAGES for an Accept-Language header (quality values honoured, 'fr-CA' matches 'fr'), None
    when none is acceptable."""
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:MAX_ACCEPT_LANGUAGE]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranges.append((-quality, position, tag.strip().replace("_", "-").lower()))
    preferred = [tag for _, _, tag in sorted(ranges)]
    return negotiate_locale(preferred, list(LANGUAGES), sep="-")


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the switch's cookie when it names a language, else the browser's, else English."""
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept_language or "") or DEFAULT


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return gettext_for(str(context.get("lang", DEFAULT)))(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(str(context.get("lang", DEFAULT))).ngettext(singular, plural, n)


@pass_context
def _percent(context: Context, value: Any, digits: int = 1) -> str:
    """A share (0.25) as a percentage in the page's language, ``digits`` decimals."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return str(format_percent(float(value), pattern, locale=str(context.get("lang", DEFAULT))))


@pass_context
def _number(context: Context, value: Any, pattern: str = "#,##0.###") -> str:
    """A number in the page's language (decimal sign and digit grouping)."""
    return str(format_decimal(float(value), pattern, locale=str(context.get("lang", DEFAULT))))


def _isolate(value: Any) -> Markup:
    """``value`` in a <bdi>: an identifier, date or number keeps its own direction inside right-to-left text
    ('2024-04-01' must not read '01-04-2024')."""
    return Markup("<bdi>{}</bdi>").format(value)


def install(env: Environment) -> None:
    """Jinja's i18n extension on ``env``, translating into the ``lang`` of each render's context, and the
    ``percent``, ``number`` and ``isolate`` filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["percent"] = _percent
    env.filters["number"] = _number
    env.filters["isolate"] = _isolate
