"""Imports run downhill: data_contracts < features < models < flows, with the simulator and the service beside them.
The published store (store) is ground level beside data_contracts: it imports data_contracts alone, and the pipeline
and the service both use it.

Every import of a project package is read from the source's syntax tree (``import x``, ``from x import y``,
``importlib.import_module("x")`` and ``__import__("x")``, at module level or inside a function), so a forbidden
import cannot hide in a function body. The imports that still break a rule are listed by file in ``NOT_YET``:
each must still exist (a fixed one is taken off the list), and no other may appear.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data_contracts", "store", "features", "models", "flows", "service", "simulator", "benchmarks")
# Package -> the project packages it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "data_contracts": frozenset({"store", "features", "models", "flows", "service", "simulator", "benchmarks"}),
    "store": frozenset({"features", "models", "flows", "service", "simulator", "benchmarks"}),
    "features": frozenset({"models", "flows", "service", "simulator", "benchmarks"}),
    "models": frozenset({"flows", "service", "simulator", "benchmarks"}),
    "simulator": frozenset({"store", "features", "models", "flows", "service", "benchmarks"}),
    "flows": frozenset({"service", "benchmarks"}),
    "service": frozenset({"flows", "simulator", "benchmarks"}),
}
# The command line may start the service (flows/cli.py), and a command that exports published scores writes the
# service's audit log (flows/us_dol.py): the modules of flows allowed to import it.
ALLOWED: frozenset[tuple[str, str]] = frozenset({("flows/cli.py", "service"), ("flows/us_dol.py", "service")})
# Imports that break a rule today, each to be removed by moving what it needs downhill.
NOT_YET: frozenset[tuple[str, str]] = frozenset()


def imported_modules(source: str) -> set[str]:
    """Every absolute module name ``source`` imports, however it is written."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def _breaks(path: str, module: str) -> bool:
    package, target = path.split("/", 1)[0], module.split(".", 1)[0]
    return target in FORBIDDEN.get(package, frozenset()) and (path, target) not in ALLOWED


def violations() -> set[tuple[str, str]]:
    """(file, imported module) for every import that breaks a rule, listed or not."""
    out: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for file in sorted((ROOT / package).rglob("*.py")):
            path = file.relative_to(ROOT).as_posix()
            for module in imported_modules(file.read_text(encoding="utf-8")):
                if _breaks(path, module):
                    out.add((path, module))
    return out


def test_no_import_breaks_a_rule_but_those_still_listed() -> None:
    found = violations()
    assert found - NOT_YET == set(), "imports that break the layering"
    assert NOT_YET - found == set(), "fixed: take these off NOT_YET"


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import flows.models", "flows.models"),
        ("from flows import models", "flows"),
        ("def f():\n    from service.store import connect\n", "service.store"),
        ("import importlib\nimportlib.import_module('service.api')", "service.api"),
        ("from importlib import import_module\nimport_module('flows.cli')", "flows.cli"),
        ("__import__('simulator.world')", "simulator.world"),
    ],
)
def test_every_form_of_import_is_seen(source: str, module: str) -> None:
    assert module in imported_modules(source)
    assert _breaks("models/example.py", module)


def test_relative_imports_and_allowed_ones_break_nothing() -> None:
    assert imported_modules("from . import sibling\nfrom .x import y") == set()
    assert not _breaks("flows/cli.py", "service.cli")
    assert not _breaks("flows/models.py", "models.train")
    assert _breaks("flows/models.py", "service.api")


def test_the_store_stands_on_data_contracts_alone() -> None:
    assert not _breaks("store/tables.py", "data_contracts.contracts")
    for module in ("features.registry", "models.scoring", "flows.models", "service.api", "simulator.world"):
        assert _breaks("store/publish.py", module), module
    assert not _breaks("flows/models.py", "store.publish") and not _breaks("service/auth.py", "store.tables")
    assert not _breaks("models/score_run.py", "store.publish") and _breaks("simulator/world.py", "store.tables")


def imports_command_line(path: str, source: str) -> bool:
    """Whether ``source`` (the file at ``path``) imports flows/cli.py, the module that assembles the command line."""
    if "flows.cli" in imported_modules(source):
        return True
    in_flows = path.count("/") == 1 and path.startswith("flows/")
    return any(
        isinstance(node, ast.ImportFrom)
        and any(alias.name == "cli" for alias in node.names)
        and ((node.level == 0 and node.module == "flows") or (in_flows and node.level == 1 and not node.module))
        for node in ast.walk(ast.parse(source))
    )


def test_no_module_imports_the_command_line() -> None:
    """The command groups and the flows take what they share from flows/commands/common.py, never from flows/cli.py."""
    found = [
        path
        for package in PACKAGES
        for file in sorted((ROOT / package).rglob("*.py"))
        if (path := file.relative_to(ROOT).as_posix()) != "flows/cli.py"
        and imports_command_line(path, file.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert imports_command_line("flows/us_dol.py", "def f():\n    from flows import cli\n")
    assert imports_command_line("flows/us_dol.py", "from . import cli")
    assert not imports_command_line("service/api.py", "from . import cli")
