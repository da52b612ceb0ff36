"""What an uploaded workbook may cost, checked before anything parses it.

An .xlsx file is a zip of XML parts. openpyxl reads the shared strings whole and the sheet
cell by cell, so a small upload can cost a worker gigabytes and minutes: a few kilobytes of
compressed ``<c/>`` unpack to millions of cells, repeated text to a shared-strings part of
tens of megabytes. ``check`` reads every part once, in chunks, and stops at the first limit
passed. Nothing the sender wrote about sizes is trusted: the unpacked bytes are counted as
they come out of the zip (and must equal what its directory declares), and the IKU sheet's
rows, columns and cells are counted while a streaming parser reads it (its ``<dimension>``
element is ignored). No tree is built, so memory stays at a chunk and a few counters.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from xml.parsers import expat

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.xml.constants import (
    ARC_CONTENT_TYPES,
    ARC_WORKBOOK,
    SHARED_STRINGS,
    XLSM,
    XLSX,
    XLTM,
    XLTX,
)

from .i18n import _

MB = 1024 * 1024
CHUNK = 64 * 1024
IKU_SHEET = "IKU"  # the sheet the import reads; else the first one
WORKBOOK_TYPES = (XLTM, XLTX, XLSM, XLSX)  # in openpyxl's order of preference


@dataclass(frozen=True)
class Limits:
    """What an uploaded workbook may hold. A real IKU (tens of indicators; the import takes at
    most 1,000) stays far below every limit, and a workbook at the limits is read in about a
    second."""

    unpacked_mb: int = 10  # all parts, unpacked
    rows: int = 10_000  # the IKU sheet's last row number: empty rows count too
    columns: int = 60  # a value right of this column
    cells: int = 100_000  # cells written in the IKU sheet, empty ones included
    strings: int = 50_000  # shared strings (the workbook's distinct texts)
    strings_mb: int = 5  # the shared-strings part, unpacked


LIMITS = Limits()


class NotAWorkbook(Exception):
    """The file is not a readable .xlsx workbook."""


class TooLarge(Exception):
    """The workbook passes a limit; the message says which, fit to show a user."""


def check(data: bytes, limits: Limits | None = None) -> None:
    """Raise ``TooLarge`` or ``NotAWorkbook`` unless ``data`` is a workbook within ``limits``
    (by default ``LIMITS``)."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        raise NotAWorkbook from None
    with archive:
        _Reader(archive, limits or LIMITS).check()


def _too_large(message: str) -> TooLarge:
    advice = _(
        "Remove what the IKU does not need (other sheets, empty formatted rows and columns), "
        "or copy the indicators into a new template, and upload it again."
    )
    return TooLarge(f"{message} {advice}")


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, limits: Limits):
        self.archive = archive
        self.limits = limits
        self.unpacked = 0

    def check(self) -> None:
        declared = sum(info.file_size for info in self.archive.infolist())
        if declared > self.limits.unpacked_mb * MB:
            raise self.unpacked_too_large()
        sheet, strings = self.parts()
        strings_limit = self.limits.strings_mb * MB
        for info in self.archive.infolist():
            if info.filename == sheet:
                _parse(self.chunks(info), _SheetCounter(self.limits).start)
            elif info.filename == strings:
                if info.file_size > strings_limit:
                    raise self.strings_too_large()
                _parse(self.chunks(info, strings_limit), _StringCounter(self.limits).start)
            else:
                for _chunk in self.chunks(info):
                    pass

    def unpacked_too_large(self) -> TooLarge:
        return _too_large(
            _("The workbook unpacks to more than %(mb)s MB.", mb=self.limits.unpacked_mb)
        )

    def strings_too_large(self) -> TooLarge:
        return _too_large(
            _("The texts of the workbook take more than %(mb)s MB.", mb=self.limits.strings_mb)
        )

    def chunks(self, info: zipfile.ZipInfo, limit: int | None = None) -> Iterator[bytes]:
        """A part's bytes, counted: against the part's declared size, ``limit`` and the
        workbook's unpacked limit."""
        read = 0
        try:
            with self.archive.open(info) as part:
                while chunk := part.read(CHUNK):
                    read += len(chunk)
                    self.unpacked += len(chunk)
                    if read > info.file_size:
                        raise NotAWorkbook  # more than its directory declared
                    if self.unpacked > self.limits.unpacked_mb * MB:
                        raise self.unpacked_too_large()
                    if limit is not None and read > limit:
                        raise self.strings_too_large()
                    yield chunk
        except (TooLarge, NotAWorkbook):
            raise
        except Exception:  # damaged data fails in many ways (zlib, CRC, encryption, method)
            raise NotAWorkbook from None
        if read != info.file_size:
            raise NotAWorkbook

    def read_small(self, name: str, start: Callable[[str, dict], None]) -> None:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise NotAWorkbook from None
        _parse(self.chunks(info), start)

    def parts(self) -> tuple[str, str | None]:
        """The zip names of the sheet the import reads and of the shared strings, found as
        openpyxl finds them: the workbook and the strings by their content types, the
        workbook's sheets and their parts by the workbook's relationships."""
        types: dict[str, str] = {}  # content type -> the first part that has it

        def content_type(name: str, attrs: dict) -> None:
            if name == "Override":
                part = attrs.get("PartName", "").removeprefix("/")
                types.setdefault(attrs.get("ContentType", ""), part)
            elif name == "Default" and attrs.get("ContentType") in WORKBOOK_TYPES:
                types.setdefault("default workbook", ARC_WORKBOOK)

        self.read_small(ARC_CONTENT_TYPES, content_type)
        found = [types[t] for t in (*WORKBOOK_TYPES, "default workbook") if t in types]
        if not found:
            raise NotAWorkbook
        workbook = found[0]
        sheets: list[tuple[str, str]] = []  # (name, relationship id), in workbook order

        def sheet(name: str, attrs: dict) -> None:
            if name == "sheet":
                rid = next((v for k, v in attrs.items() if k.endswith("}id")), "")
                sheets.append((attrs.get("name", ""), rid))

        self.read_small(workbook, sheet)
        targets: dict[str, str] = {}  # relationship id -> target

        def relationship(name: str, attrs: dict) -> None:
            if name == "Relationship":
                targets[attrs.get("Id", "")] = attrs.get("Target", "")

        folder, base = posixpath.split(workbook)
        self.read_small(posixpath.join(folder, "_rels", base + ".rels"), relationship)
        chosen = next((rid for name, rid in sheets if name == IKU_SHEET), None)
        if chosen is None and sheets:
            chosen = sheets[0][1]
        if chosen not in targets:
            raise NotAWorkbook
        return _resolve(folder, targets[chosen]), types.get(SHARED_STRINGS)


def _resolve(folder: str, target: str) -> str:
    """A relationship's target as a zip name: absolute ("/xl/…") or relative to ``folder``."""
    if target.startswith("/"):
        return posixpath.normpath(target[1:])
    return posixpath.normpath(posixpath.join(folder, target))


class _SheetCounter:
    """Counts the sheet's rows, cells and columns as the parser meets them."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.row = self.column = self.cells = 0

    def start(self, name: str, attrs: dict) -> None:
        limits = self.limits
        if name == "row":
            self.row = _number(attrs["r"]) if "r" in attrs else self.row + 1
            self.column = 0
            if self.row > limits.rows:
                raise _too_large(_("The sheet has more than %(n)s rows.", n=limits.rows))
        elif name == "c":
            self.cells += 1
            if self.cells > limits.cells:
                raise _too_large(_("The sheet has more than %(n)s cells.", n=limits.cells))
            self.column = _column(attrs["r"]) if "r" in attrs else self.column + 1
        elif name in ("v", "is") and self.column > limits.columns:
            raise _too_large(
                _("The sheet has values right of column %(column)s.",
                  column=get_column_letter(limits.columns))
            )  # fmt: skip


class _StringCounter:
    """Counts the shared strings as the parser meets them."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.count = 0

    def start(self, name: str, attrs: dict) -> None:
        if name == "si":
            self.count += 1
            if self.count > self.limits.strings:
                raise _too_large(
                    _("The workbook holds more than %(n)s different texts.",
                      n=self.limits.strings)
                )  # fmt: skip


def _number(text: str) -> int:
    if not text.isdigit():
        raise NotAWorkbook
    return int(text)


def _column(reference: str) -> int:
    try:
        return coordinate_to_tuple(reference)[1]
    except (ValueError, TypeError):
        raise NotAWorkbook from None


def _refuse_dtd(*args) -> None:
    raise NotAWorkbook  # no part of a workbook has one; entities could expand without end


def _parse(chunks: Iterator[bytes], start: Callable[[str, dict], None]) -> None:
    """Stream ``chunks`` of XML through expat, calling ``start(local name, attributes)`` for
    every element as it opens."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.StartElementHandler = lambda name, attrs: start(name.rpartition("}")[2], attrs)
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise NotAWorkbook from None
