"""Every module fits in a reader's head: at most ``MAX_MODULE_LINES`` lines (the declarations, one place for every
record contract and every indicator, are longer by nature and listed in ``DECLARATIONS``) and no function or
method longer than ``MAX_FUNCTION_LINES`` lines, decorators and docstring included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_layers import PACKAGES, ROOT

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Declarations: the record contracts, the indicator registry and the simulator's record schema.
DECLARATIONS = frozenset({"data_contracts/contracts.py", "features/registry.py", "simulator/schema.py"})


def _modules() -> list[Path]:
    return [f for package in PACKAGES for f in sorted((ROOT / package).rglob("*.py"))]


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method in ``source`` longer than ``limit`` lines, decorators included."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = node.end_lineno - first + 1
            if lines > limit:
                out.append((node.name, lines))
    return out


def test_no_module_outside_the_declarations_is_longer_than_the_limit() -> None:
    long = {}
    for file in _modules():
        path = file.relative_to(ROOT).as_posix()
        lines = len(file.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and path not in DECLARATIONS:
            long[path] = lines
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_every_declaration_listed_exists() -> None:
    assert all((ROOT / path).is_file() for path in DECLARATIONS)


def test_no_function_is_longer_than_the_limit() -> None:
    long = {}
    for file in _modules():
        found = long_functions(file.read_text(encoding="utf-8"))
        if found:
            long[file.relative_to(ROOT).as_posix()] = found
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize(("body_lines", "too_long"), [(78, False), (79, True)])
def test_a_function_counts_its_decorators_and_every_line(body_lines: int, too_long: bool) -> None:
    # decorator + def + body lines: 80 lines in all is the limit, 81 is over it
    source = "@decorator\ndef f():\n" + "    x = 1\n" * body_lines
    assert bool(long_functions(source)) is too_long
