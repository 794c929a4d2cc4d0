"""The committed contract docs (docs/contracts/) are exactly what data_contracts.docs generates."""

from __future__ import annotations

from pathlib import Path

from data_contracts.contracts import CONTRACTS
from data_contracts.docs import render_contract_page, write_contract_docs
from data_contracts.rules import declared_rules

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "contracts"
REGENERATE = "docs/contracts is stale: regenerate with `python -m data_contracts.docs docs/contracts`"


def test_committed_docs_match_generated(tmp_path: Path) -> None:
    written = write_contract_docs(tmp_path)
    assert sorted(p.name for p in written) == sorted([*(f"{n}.md" for n in CONTRACTS), "index.md"])
    committed = sorted(p.name for p in COMMITTED.glob("*.md")) if COMMITTED.is_dir() else []
    assert committed == sorted(p.name for p in written), REGENERATE
    for path in written:
        assert (COMMITTED / path.name).read_bytes() == path.read_bytes(), f"{path.name}: {REGENERATE}"


def test_page_lists_every_column_and_rule() -> None:
    for contract in CONTRACTS.values():
        page = render_contract_page(contract)
        for f in contract.fields:
            assert f"| `{f.name}` |" in page, (contract.name, f.name)
        for rule_id, _ in declared_rules(contract):
            assert f"| `{rule_id}` |" in page, (contract.name, rule_id)
