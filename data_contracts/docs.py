"""Generated docs page per contract (Markdown), from the same declarations as the rules and GX suites.

Regenerate the committed pages with ``python -m data_contracts.docs docs/contracts``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from data_contracts.contracts import CONTRACTS, EARLIEST_DATE, INGEST_ORDER, LINEAGE, Field, RecordContract
from data_contracts.gx_suites import natural_id_rule_id
from data_contracts.rules import declared_rules, reference_rule_id

GENERATED = (
    "<!-- Generated from data_contracts/contracts.py by `python -m data_contracts.docs docs/contracts`; "
    "do not edit. -->"
)

PERSON_ID_HOW = {
    "whole": "yes: the whole value",
    "each_name": "yes: each ';'-separated name",
}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`"


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _or_list(values: tuple[str, ...]) -> str:
    quoted = [_code(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _constraints(f: Field) -> str:
    parts: list[str] = []
    if f.values is not None:
        parts.append("one of " + ", ".join(_code(v) for v in f.values))
    if f.min is not None and f.max is not None:
        parts.append(f"{_num(f.min)} to {_num(f.max)}")
    elif f.min is not None:
        parts.append(f"at least {_num(f.min)}")
    elif f.max is not None:
        parts.append(f"at most {_num(f.max)}")
    if f.max_length is not None:
        parts.append(f"at most {f.max_length:,} characters")
    if f.type in ("date", "datetime"):
        parts.append(f"not before {EARLIEST_DATE.isoformat()}")
    if f.not_in_future:
        parts.append("not after the ingest time")
    return "; ".join(parts)


def _person_id(contract: RecordContract, f: Field) -> str:
    if f.person_id is not None:
        return PERSON_ID_HOW[f.person_id]
    for ref in contract.conditional_person_refs:
        if ref.column == f.name:
            desks = (
                f"where it is {_or_list(ref.suffix_for)}: the part after the last ':' (the whole value when there "
                "is none); "
                if ref.suffix_for
                else ""
            )
            return (
                f"yes, except where {_code(ref.when_column)} is {_or_list(ref.kept_for)} (kept as is); {desks}on "
                "any other row (a misspelt or empty one included): the whole value. A value that already is a "
                "pseudonym is kept"
            )
    return ""


def render_contract_page(contract: RecordContract) -> str:
    """The Markdown page of one contract."""
    out = [
        GENERATED,
        "",
        f"# Record contract: `{contract.name}`",
        "",
        contract.description,
        "",
    ]
    if contract.entity_note:
        out += [f"**Entities.** {contract.entity_note}", ""]
    out += _columns_section(contract)
    out += _date_orders_section(contract)
    out += _references_section(contract)
    out += _rules_section(contract)
    return "\n".join(out)


def _columns_section(contract: RecordContract) -> list[str]:
    out = [
        f"Natural id: {_code(contract.natural_id)}. {len(contract.fields)} columns, {len(contract.required)} of "
        "them required (the column must be present and the value non-empty). A row that breaks any rule below is "
        "quarantined with the ids of all the rules it broke; no row is dropped.",
        "",
        "## Columns",
        "",
        "| column | type | required | allowed values / range / max length | pseudonymised person id (how) "
        "| sensitive (fairness only, never a feature) | description |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in contract.fields:
        cells = [
            _code(f.name),
            f.type,
            "yes" if f.required else "",
            _constraints(f),
            _person_id(contract, f),
            "yes" if f.sensitive else "",
            f.description,
        ]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    out += [
        "",
        "Accepted rows also carry the lineage columns " + ", ".join(_code(n) for n, _ in LINEAGE) + ".",
        "",
        _extras_note(contract),
        "",
    ]
    return out


def _extras_note(contract: RecordContract) -> str:
    kept = (
        f" The declared plain extras {', '.join(_code(c) for c in contract.plain_extras)} are kept as they are."
        if contract.plain_extras
        else ""
    )
    return (
        "A column the source supplies that this contract does not declare is stored in `extra_fields` (JSON) and "
        "in quarantine as the pseudonym of its whole value, since it may name a person." + kept
    )


def _date_orders_section(contract: RecordContract) -> list[str]:
    out = ["## Date-order rules", ""]
    if contract.date_orders:
        out += [
            f"- {_code(o.later)} must not be before {_code(o.earlier)} (when both parse): rule "
            f"{_code(f'{o.later}:before_{o.earlier}')}."
            for o in contract.date_orders
        ]
    else:
        out.append("None.")
    out.append("")
    return out


def _references_section(contract: RecordContract) -> list[str]:
    out = ["## References", ""]
    if contract.references:
        for r in contract.references:
            when = f", where {_code(r.when_column)} is {_or_list(r.when_values)}" if r.when_column else ""
            out.append(
                f"- {_code(r.column)} must name an accepted {_code(r.record_type)} row "
                f"({_code(r.target)}){when}: rule {_code(reference_rule_id(contract, r.column))}."
            )
    else:
        out.append("None.")
    out.append("")
    return out


def _rules_section(contract: RecordContract) -> list[str]:
    out = [
        "## Rules",
        "",
        "Every rule id a row of this record type can be quarantined with (`data_contracts.rules`).",
        "",
        "| rule id | description |",
        "|---|---|",
    ]
    out += [f"| {_cell(_code(rule_id))} | {_cell(text)} |" for rule_id, text in declared_rules(contract)]
    out += [
        "",
        "## Great Expectations suite",
        "",
        f"The suite {_code(contract.name)} (`data_contracts.gx_suites.build_suite`) checks each batch against the "
        'same declarations: every expectation names its rule id in `meta["rule_id"]`. It has no expectation for '
        "the `:type` rules (the batch is already parsed) and adds one dataset-level check that quarantines "
        f"nothing: {_code(natural_id_rule_id(contract))}, {' with '.join(_code(c) for c in contract.unique_key)} "
        f"unique within the batch{_versions_note(contract)}.",
        "",
    ]
    return out


def _versions_note(contract: RecordContract) -> str:
    if contract.versioned_by is None:
        return ""
    return (
        f" (a row is one dated version of its {_code(contract.natural_id)}'s entry; features read the version in "
        f"force on their as-of date: the greatest {_code(contract.versioned_by)} before it)"
    )


def render_index() -> str:
    out = [
        GENERATED,
        "",
        "# Record contracts",
        "",
        "One declaration per record type (`data_contracts/contracts.py`) generates the row-level rules, the Great "
        "Expectations suites, the Arrow schema of accepted rows and these pages. Record types in ingest order "
        "(references point at record types ingested earlier):",
        "",
        "| record type | natural id | columns | required | description |",
        "|---|---|---|---|---|",
    ]
    for name in INGEST_ORDER:
        c = CONTRACTS[name]
        out.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    f"[{name}]({name}.md)",
                    _code(c.natural_id),
                    str(len(c.fields)),
                    str(len(c.required)),
                    c.description,
                )
            )
            + " |"
        )
    out += [
        "",
        "Lineage columns on every accepted and quarantined row: " + ", ".join(_code(n) for n, _ in LINEAGE) + ".",
        "",
    ]
    return "\n".join(out)


def write_contract_docs(out_dir: Path) -> list[Path]:
    """Write one ``<record_type>.md`` per contract (in ingest order) and ``index.md``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = [(f"{name}.md", render_contract_page(CONTRACTS[name])) for name in INGEST_ORDER]
    pages.append(("index.md", render_index()))
    written: list[Path] = []
    for filename, text in pages:
        path = out_dir / filename
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m data_contracts.docs OUT_DIR", file=sys.stderr)
        return 2
    for path in write_contract_docs(Path(argv[1])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
