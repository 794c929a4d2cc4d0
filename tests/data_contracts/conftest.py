"""What the data-contract tests share: an empty lake in the test's own folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from data_contracts.lake import Lake


@pytest.fixture()
def lake(tmp_path: Path) -> Iterator[Lake]:
    lake = Lake(tmp_path / "home")
    yield lake
    lake.close()
