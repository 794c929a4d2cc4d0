"""Sources map external formats onto the contracts: which files hold which record type, and which of their
columns is which contract column. Each source is declared in a TOML file beside this module; a landing
folder may add its own ``tracerisk-mapping.toml``. A source of layout ``declared_files`` names each file it reads,
with its own mapping (``data_contracts.sources.declared``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.contracts import CONTRACTS, INGEST_ORDER
from data_contracts.sources.declared import DeclarationError, DeclaredFile, parse_declarations

SOURCE_DIR = Path(__file__).resolve().parent
LANDING_MAPPING_FILE = "tracerisk-mapping.toml"
DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet")
SPREADSHEET_SUFFIXES = (".xlsx", ".xls")


class SourceError(ValueError):
    """A source folder or mapping that cannot be used, with a message for the person who supplied it."""


# Sources that each make a world of their own (organisations, labels, dates): a lake holds at most one of them,
# beside landing files (csv) such as the outcomes recorded through the service.
WORLD_SOURCES = ("synthetic", "us-dol")


def check_one_world(committed_formats: set[str], source_name: str) -> None:
    """Refuse to ingest ``source_name`` into a lake whose committed batches (``committed_formats``) come from
    another world source: the two would be mixed, and what the lake's home serves replaced."""
    others = sorted((committed_formats & set(WORLD_SOURCES)) - {source_name})
    if source_name in WORLD_SOURCES and others:
        raise SourceError(
            f"the lake already holds {others[0]} records: {source_name} records would be mixed into them and "
            "replace what this home serves; ingest them under another TRACERISK_HOME"
        )


@dataclass(frozen=True)
class SourceFile:
    path: Path
    record_type: str
    declared: DeclaredFile | None = None  # how a file of a declared_files source is read


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    layout: str
    subdir: str
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # record type -> {source column: contract column}
    declared: tuple[DeclaredFile, ...] = ()  # layout declared_files: every file it reads
    ignored: dict[str, str] = field(default_factory=dict)  # layout declared_files: path -> why it is not read

    def rename(self, record_type: str) -> dict[str, str]:
        return self.columns.get(record_type, {})

    def files(self, root: Path) -> list[SourceFile]:
        """Every data file under ``root`` with the record type it holds, in ingest order then by path."""
        base = root / self.subdir if self.subdir else root
        if not base.is_dir():
            raise SourceError(f"{base} is not a folder (expected the {self.name} layout: {self.description})")
        found: list[SourceFile] = []
        if self.layout == "declared_files":
            found = [SourceFile(base / d.path, d.record_type, d) for d in self.declared if (base / d.path).is_file()]
            # Any other data file beside a declared one is listed (record type ""), so it is reported as not
            # declared, unless the source says why it is not read.
            known = {d.path for d in self.declared} | set(self.ignored)
            folders = sorted({(base / d.path).parent for d in self.declared})
            found += [
                SourceFile(p, "")
                for folder in folders
                if folder.is_dir()
                for p in sorted(folder.iterdir())
                if _is_data(p, SPREADSHEET_SUFFIXES) and p.relative_to(base).as_posix() not in known
            ]
            if not found:
                raise SourceError(
                    f"{base} holds none of the files the {self.name} source declares ({self.description})"
                )
        elif self.layout == "folder_per_record_type":
            for record_type in CONTRACTS:
                folder = base / record_type
                if folder.is_dir():
                    found += [SourceFile(p, record_type) for p in sorted(folder.iterdir()) if _is_data(p)]
        else:
            for p in sorted(base.iterdir()):
                if not _is_data(p):
                    continue
                # A file named after no record type is still listed (record type ""), so it is reported.
                found.append(SourceFile(p, record_type_of(p.name) or ""))
        order = {name: i for i, name in enumerate(INGEST_ORDER)}
        return sorted(found, key=lambda f: (order.get(f.record_type, -1), str(f.path)))


def record_type_of(filename: str) -> str | None:
    """The record type a landing-zone file is named after (longest matching prefix), if any."""
    stem = filename.lower()
    matches = [name for name in CONTRACTS if stem.startswith(name)]
    return max(matches, key=len) if matches else None


def _is_data(path: Path, more_suffixes: tuple[str, ...] = ()) -> bool:
    suffixes = (*DATA_SUFFIXES, *more_suffixes)
    return path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith(".")


def _parse_columns(raw: object, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict):
        raise SourceError(f"{where}: [columns] must be a table of record types")
    out: dict[str, dict[str, str]] = {}
    for record_type, mapping in raw.items():
        if record_type not in CONTRACTS:
            raise SourceError(
                f"{where}: unknown record type {record_type!r} in [columns]; known: {', '.join(CONTRACTS)}"
            )
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise SourceError(f"{where}: [columns.{record_type}] must map source column names to contract names")
        unknown = sorted(set(mapping.values()) - set(CONTRACTS[record_type].columns))
        if unknown:
            raise SourceError(f"{where}: [columns.{record_type}] maps onto unknown contract columns {unknown}")
        out[record_type] = dict(mapping)
    return out


def load_source(name: str, root: Path | None = None, mapping: Path | None = None) -> Source:
    """The declared source ``name`` (synthetic, csv, us-dol), with a landing folder's own mapping file merged in
    (not for a declared_files source: its TOML declares every file's columns)."""
    path = SOURCE_DIR / f"{name}.toml"
    if not path.exists():
        known = sorted(p.stem for p in SOURCE_DIR.glob("*.toml"))
        raise SourceError(f"unknown source format {name!r}; known: {', '.join(known)}")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    keys = {"name", "description", "layout", "subdir", "columns"}
    if raw.get("layout") == "declared_files":
        keys |= {"missing_values", "record_types", "tables", "files", "ignore"}
    unknown_keys = set(raw) - keys
    if unknown_keys:
        raise SourceError(f"{path}: unknown keys {sorted(unknown_keys)}")
    try:
        declared = parse_declarations(raw, str(path))
    except DeclarationError as exc:
        raise SourceError(str(exc)) from exc
    columns = _parse_columns(raw.get("columns", {}), str(path))
    if declared and mapping is not None:
        raise SourceError(f"the {raw['name']} source declares each file's columns in {path}: --mapping does not apply")
    extra = None if declared else mapping or (root / LANDING_MAPPING_FILE if root is not None else None)
    if extra is not None and extra.exists():
        try:
            extra_raw = tomllib.loads(extra.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SourceError(f"cannot read mapping {extra}: {exc}") from exc
        if set(extra_raw) - {"columns"}:
            raise SourceError(f"{extra}: only a [columns.<record_type>] section is allowed")
        for record_type, more in _parse_columns(extra_raw.get("columns", {}), str(extra)).items():
            columns[record_type] = {**columns.get(record_type, {}), **more}
    elif mapping is not None:
        raise SourceError(f"mapping file {mapping} not found")
    ignored = raw.get("ignore", {})
    if not isinstance(ignored, dict) or not all(isinstance(v, str) for v in ignored.values()):
        raise SourceError(f"{path}: [ignore] must map file paths to why they are not read")
    return Source(
        raw["name"], raw.get("description", ""), raw["layout"], raw.get("subdir", ""), columns, declared, ignored
    )
