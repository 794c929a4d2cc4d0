"""The wheel and sdist carry every file the code reads beside its modules, the licence, and the Python range."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("data_contracts", "simulator", "features", "models", "flows", "service", "benchmarks")
NOT_PACKAGE_DATA = ("benchmarks/results/",)  # measurement outputs kept in the repository, never read by the code


def files_the_code_reads() -> set[str]:
    """Paths (relative to the repository root) of the non-Python files the modules open beside themselves, taken
    from the modules' own constants so that a new file there is checked too."""
    from data_contracts.sources import SOURCE_DIR
    from features.registry import TEXTS_FILE
    from service import dashboard
    from store.engine import MIGRATIONS

    found = {TEXTS_FILE, *SOURCE_DIR.glob("*.toml"), *MIGRATIONS.rglob("*.mako"), *MIGRATIONS.rglob("*.py")}
    service_dir = Path(dashboard.__file__).resolve().parent
    for folder in ("templates", "static", "locale"):
        found.update(p for p in (service_dir / folder).rglob("*") if p.is_file())
    return {p.resolve().relative_to(ROOT).as_posix() for p in found if "__pycache__" not in p.parts}


def tracked_package_files() -> set[str]:
    """Every file git tracks inside a package folder (Python or not), outside NOT_PACKAGE_DATA."""
    listed = subprocess.run(
        ["git", "ls-files", "--", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {p for p in listed if not p.startswith(NOT_PACKAGE_DATA) and (ROOT / p).exists()}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel as `python -m build` makes them (the wheel built from the unpacked sdist)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def wheel_names(dist: Path) -> set[str]:
    (wheel,) = dist.glob("tracerisk-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def sdist_names(dist: Path) -> set[str]:
    (sdist,) = dist.glob("tracerisk-*.tar.gz")
    with tarfile.open(sdist) as t:
        return {name.split("/", 1)[1] for name in t.getnames() if "/" in name}


def test_the_code_reads_known_data_files() -> None:
    read = files_the_code_reads()
    expected = {
        "features/indicator_texts.toml",
        "data_contracts/sources/csv.toml",
        "data_contracts/sources/synthetic.toml",
        "store/migrations/script.py.mako",
        "service/templates/base.html",
    }
    assert expected <= read


def test_wheel_holds_every_file_the_code_reads(dist: Path) -> None:
    missing = files_the_code_reads() - wheel_names(dist)
    assert not missing, f"not in the wheel (add to [tool.setuptools.package-data]): {sorted(missing)}"


def test_wheel_holds_every_tracked_package_file(dist: Path) -> None:
    missing = tracked_package_files() - wheel_names(dist)
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_sdist_holds_package_files_licence_and_pins(dist: Path) -> None:
    names = sdist_names(dist)
    missing = (files_the_code_reads() | tracked_package_files() | {"LICENSE", "constraints.txt", "README.md"}) - names
    assert not missing, f"not in the sdist: {sorted(missing)}"


def test_wheel_metadata_licence_and_python_range(dist: Path) -> None:
    names = wheel_names(dist)
    assert "tracerisk-0.1.0.dist-info/licenses/LICENSE" in names
    (wheel,) = dist.glob("tracerisk-*.whl")
    with zipfile.ZipFile(wheel) as z:
        metadata = email.message_from_bytes(z.read("tracerisk-0.1.0.dist-info/METADATA"))
        licence = z.read("tracerisk-0.1.0.dist-info/licenses/LICENSE").decode()
        entry_points = z.read("tracerisk-0.1.0.dist-info/entry_points.txt").decode()
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == "<3.14,>=3.11"
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "tracerisk = flows.cli:app" in entry_points
