"""The OpenAPI document is pinned in a golden file (tests/service/golden/openapi.json, keys in the order the app
writes them); regenerate it with TRACERISK_UPDATE_GOLDEN=1 after checking the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

from service.api import create_app
from service.settings import Settings

GOLDEN = Path(__file__).with_name("golden") / "openapi.json"


def _document(home: Path) -> str:
    settings = Settings(home=home, mode="development", docs=True, metrics="open")
    return json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False) + "\n"


def test_openapi_document_matches_the_golden_file(tmp_path: Path) -> None:
    document = _document(tmp_path / "home")
    if os.environ.get("TRACERISK_UPDATE_GOLDEN"):
        GOLDEN.write_text(document, encoding="utf-8")
    assert document == GOLDEN.read_text(encoding="utf-8"), "the OpenAPI document changed"
