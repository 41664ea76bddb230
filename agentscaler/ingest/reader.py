"""From files to rows: split the inputs into work units, and parse one unit into rows.

A unit is a whole file, or a line-aligned byte range of a big JSON-lines file, so one 22 MB
corpus file spreads over all cores instead of being one serial task. ``parse_unit`` is the
function Ray Data maps over units; it never raises on bad data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import pyarrow as pa
import yaml
from pydantic import BaseModel

from agentscaler.ingest.formats import Format, detect
from agentscaler.ingest.records import Quarantined, reason_of
from agentscaler.toolspec import ToolSpec

_NOT_JSON = object()

RAW_TEXT_LIMIT = 4096
"""A whole-file quarantine row keeps this much of the file's text: enough to see what it is."""


class Unit(BaseModel):
    """One task's share of the input: a file, or the lines of a JSON-lines file in ``[start, start+length)``."""

    index: int
    path: str
    display: str
    start: int = 0
    length: int = -1
    first_line: int = 1
    jsonl: bool = False


class Record(NamedTuple):
    locator: str
    line: int | None
    value: Any
    error: str | None  # the value could not be parsed: ``value`` is then its raw text


def input_files(sources: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """Every file under the sources (recursively, skipping dot-files), with its display name."""
    files = []
    for source in map(Path, sources):
        if not source.exists():
            raise FileNotFoundError(f"no such file or directory: {source}")
        base = source.resolve().parent
        found = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in found:
            inside = path.relative_to(source).parts if source.is_dir() else ()
            if not any(part.startswith(".") for part in inside):
                files.append((path, path.resolve().relative_to(base).as_posix()))
    return files


def plan_units(sources: Sequence[str | Path], chunk_bytes: int) -> list[Unit]:
    """Work units for all input files; JSON-lines files bigger than ``chunk_bytes`` are split by lines."""
    units: list[Unit] = []
    for path, display in input_files(sources):
        if path.stat().st_size <= chunk_bytes or not _is_jsonl(path):
            units.append(Unit(index=len(units), path=str(path), display=display))
            continue
        start, line = 0, 1
        with path.open("rb") as handle:
            while block := handle.read(chunk_bytes) + handle.readline():
                units.append(
                    Unit(index=len(units), path=str(path), display=display, start=start,
                         length=len(block), first_line=line, jsonl=True)
                )  # fmt: skip
                start, line = start + len(block), line + block.count(b"\n")
    return units


def _is_jsonl(path: Path) -> bool:
    """A file whose first line is a whole JSON object is JSON lines (a pretty-printed file's is ``{``)."""
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        return isinstance(json.loads(first), dict) and path.stat().st_size > len(first)
    except ValueError:
        return False


def read_records(text: str, first_line: int = 1, jsonl: bool = False) -> Iterator[Record]:
    """The records of a text: one JSON (or YAML) document, or JSON lines; lists are opened one level."""
    lines: Iterable[Record] = _lines(text, first_line)
    if not jsonl:
        try:
            document = json.loads(text)
        except ValueError:
            document, lines = _NOT_JSON, list(lines)
        if document is _NOT_JSON and not any(isinstance(r.value, (dict, list)) for r in lines):
            document = _yaml(text)
        if document is not _NOT_JSON:
            yield from _items(document, "", None)
            return
    for line in lines:
        yield from [line] if line.error else _items(line.value, line.locator, line.line)


def _lines(text: str, first_line: int) -> Iterator[Record]:
    for number, line in enumerate(text.split("\n"), first_line):
        if line.strip():
            try:
                yield Record(f"line {number}", number, json.loads(line), None)
            except ValueError as error:
                yield Record(f"line {number}", number, line, f"invalid JSON: {error}")


def _yaml(text: str) -> Any:
    """YAML (OpenAPI specs are often written in it); anything else parses to nothing."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def _items(value: Any, locator: str, line: int | None) -> Iterator[Record]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield Record(" / ".join(filter(None, [locator, f"item {i}"])), line, item, None)
    elif value is not None:
        yield Record(locator or "document", line, value, None)


SPEC_COLUMNS = tuple(ToolSpec.model_fields)
_NO_SPEC = dict.fromkeys(SPEC_COLUMNS)
ROW_SCHEMA = pa.schema(
    [("unit", pa.int64()), ("seq", pa.int64()), *((c, pa.string()) for c in ("kind", "input", "data", *SPEC_COLUMNS))]
)
"""What ``parse_unit`` emits; a block whose spec columns are all null is cast back to it."""


def parse_unit(unit: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Rows for one unit: a ``spec`` row per API, a ``quarantine`` row per bad record, one ``stats`` row.

    Every row has the same columns so Ray Data blocks share one schema: ``unit`` and ``seq``
    (they restore input order), ``kind``, ``input`` (the file's display name), ``data`` (JSON text
    of a quarantine or stats row) and the ``ToolSpec.to_row()`` columns, null unless a spec.
    """
    unit_ = Unit.model_validate(unit)
    seq = iter(range(1 << 62))

    def row(kind: str, data: Any = None, spec: dict | None = None) -> dict[str, Any]:
        data = None if data is None else json.dumps(data, ensure_ascii=False, default=str)
        return {"unit": unit_.index, "seq": next(seq), "kind": kind, "input": unit_.display, "data": data,
                **(spec or _NO_SPEC)}  # fmt: skip

    def quarantine(locator: str, reason: str, raw: Any) -> dict[str, Any]:
        rejected = Quarantined(source_file=unit_.display, locator=locator, reason=reason, raw=raw)
        return row("quarantine", rejected.model_dump())

    with open(unit_.path, "rb") as handle:
        handle.seek(unit_.start)
        data = handle.read(unit_.length)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        yield quarantine("file", f"unrecognized format: not UTF-8 text ({error})", None)
        yield row("stats", {"records": 0, "formats": {}})
        return
    formats: dict[str, int] = {}
    held: list[dict] = []  # rejects before the first recognized record: one file-level row replaces them if none is
    records = 0
    for record in read_records(text, unit_.first_line, unit_.jsonl):
        records += 1
        fmt = None if record.error else detect(record.value)
        if fmt is None:
            reject = quarantine(record.locator, record.error or "unrecognized record", record.value)
            if formats:
                yield reject
            else:
                held.append(reject)
            continue
        yield from held
        held.clear()
        formats[fmt.name] = formats.get(fmt.name, 0) + 1
        for out in _specs(fmt, record, unit_.display):
            yield row("spec", spec=out.to_row()) if isinstance(out, ToolSpec) else row("quarantine", out.model_dump())
    if not formats:
        yield quarantine("file", "unrecognized format", text[:RAW_TEXT_LIMIT])
    yield row("stats", {"records": records, "formats": formats})


def parse_file(path: str | Path) -> tuple[list[ToolSpec], list[Quarantined]]:
    """One file parsed in this process, without Ray and without dedup: for inspection and tests."""
    specs, quarantined = [], []
    for row in parse_unit(Unit(index=0, path=str(path), display=Path(path).name).model_dump()):
        if row["kind"] == "spec":
            specs.append(ToolSpec.from_row({column: row[column] for column in SPEC_COLUMNS}))
        elif row["kind"] == "quarantine":
            quarantined.append(Quarantined.model_validate_json(row["data"]))
    return specs, quarantined


def _specs(fmt: Format, record: Record, display: str) -> Iterator[ToolSpec | Quarantined]:
    """The specs of one recognized record, and a quarantine row for each part that failed.

    Any exception is caught on purpose: a loader bug on odd data must cost one record, visibly
    (its reason names the exception), not the run.
    """
    source_file = f"{display}:{record.line}" if record.line else display
    try:
        for locator, raw, fields in fmt.apis(record.value):
            where = " / ".join(filter(None, [record.locator, locator]))
            try:
                base = {"source": fmt.name, "source_file": source_file, "licence": fmt.licence, "raw": raw}
                yield ToolSpec.build(**{**base, **fields()})
            except Exception as error:  # noqa: BLE001 - see docstring
                yield Quarantined(source_file=display, locator=where, reason=_reason(error), raw=raw)
    except Exception as error:  # noqa: BLE001 - see docstring
        yield Quarantined(source_file=display, locator=record.locator, reason=_reason(error), raw=record.value)


def _reason(error: Exception) -> str:
    if isinstance(error, ValueError):  # RecordError and pydantic's ValidationError among them
        return reason_of(error)
    return f"loader error: {type(error).__name__}: {error}"
