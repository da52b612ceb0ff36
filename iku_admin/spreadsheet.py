"""Spreadsheet files out: a CSV that a spreadsheet in the reader's locale opens by double-click,
and an XLSX workbook with typed cells, both written as a stream of byte chunks.

Cells come in typed: text (already neutralised against formulas by the caller), ``int``,
``Decimal`` or ``float``, ``date``, naive ``datetime`` in office time, or ``None``.

- CSV: UTF-8 with a byte-order mark (Excel reads a file without one in the Windows code page,
  turning "–" into "â€“"), the list separator the locale's spreadsheet expects, numbers with
  the locale's decimal symbol and no grouping, dates as ISO 8601 (read as dates everywhere).
- XLSX: the sheet is written as XML directly (inline strings, one style per kind of date)
  into a zip stream. openpyxl builds an object per cell and takes tens of microseconds for
  each; an export of 100,000 dossiers has 1.7 million cells.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.sax.saxutils import quoteattr

from babel.numbers import get_decimal_symbol
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8"
BOM = "\ufeff"
ROWS_PER_CHUNK = 1000  # rows written between two chunks of a stream


@functools.cache
def csv_separators(locale: str) -> tuple[str, str]:
    """(list separator, decimal symbol) of a CSV for a spreadsheet in ``locale``.

    Spreadsheets separate a CSV's fields by the system's list separator, which is ";" where
    the decimal symbol is a comma (Indonesian, German…) and "," elsewhere (English). CLDR's
    own "list" symbol is ";" for every locale, English included, so it cannot be used.
    """
    decimal = get_decimal_symbol(locale)
    return (";" if decimal == "," else ","), decimal


# --- CSV ------------------------------------------------------------------------------------


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence], locale: str) -> Iterator[bytes]:
    """The CSV file as UTF-8 chunks: the header row, then ``ROWS_PER_CHUNK`` rows a chunk.
    The rows' cells are text, whole numbers or None: other typed cells go through
    ``csv_texts(locale)`` first (an export does it while it makes them)."""
    delimiter, _decimal = csv_separators(locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    buffer.write(BOM)
    writer.writerow(headers)
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, ROWS_PER_CHUNK)):
        writer.writerows(chunk)
        yield _drain(buffer).encode()
    yield _drain(buffer).encode()


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


@functools.cache
def csv_texts(locale: str) -> dict[type, callable]:
    """Cell type -> its text in a CSV for ``locale``; text, whole numbers and empty cells go
    to the writer as they are."""
    decimal = csv_separators(locale)[1]
    return {
        Decimal: lambda v: f"{v:f}".replace(".", decimal),
        float: lambda v: repr(v).replace(".", decimal),
        # To the minute, without a zone: an aware time is written as it reads in its zone.
        datetime: lambda v: v.isoformat(" ", "minutes")[:16],
        date: date.isoformat,
    }


# --- XLSX -----------------------------------------------------------------------------------

_EPOCH = date(1899, 12, 30)  # day 0 of Excel's (1900) date system, in which a day is 1
_EPOCH_TIME, _DAY = datetime(1899, 12, 30), timedelta(days=1)
_DATE_STYLE, _DATETIME_STYLE, _HEADER_STYLE = 1, 2, 3  # indexes into STYLES' cellXfs
# XML escapes; characters XML 1.0 cannot hold become U+FFFD (a visible mark, not a 500).
_XML_TEXT = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"} | {
    c: "\ufffd" for c in [*range(0x20), 0xFFFE, 0xFFFF] if chr(c) not in "\t\n\r"
}
_XML_RISKY = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def sheet_title(name: str) -> str:
    """A valid sheet name: none of ``[]:*?/\\``, at most 31 characters, not blank."""
    title = re.sub(r"[\[\]:*?/\\]", " ", name)[:31].strip(" '")
    return title or "Data"


def xlsx_chunks(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    """An XLSX workbook of one sheet named ``title``, as chunks of a zip stream: the bold,
    frozen header row, then one row per row of ``rows`` with typed cells."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text.replace("{title}", quoteattr(sheet_title(title))))
        yield sink.take()
        letters = [get_column_letter(n) for n in range(1, len(headers) + 1)]
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(_SHEET_START.encode())
            bold = f' s="{_HEADER_STYLE}"'
            header = [_text_cell(f"{c}1", h, bold) for c, h in zip(letters, headers, strict=True)]
            sheet.write(f'<row r="1">{"".join(header)}</row>'.encode())
            lines = []
            for n, row in enumerate(rows, start=2):
                cells = [
                    _XLSX_CELLS[type(value)](f"{letter}{n}", value)
                    for letter, value in zip(letters, row, strict=True)
                    if value is not None
                ]
                lines.append(f'<row r="{n}">{"".join(cells)}</row>')
                if n % ROWS_PER_CHUNK == 0:
                    sheet.write("".join(lines).encode())
                    lines.clear()
                    yield sink.take()
            sheet.write(("".join(lines) + _SHEET_END).encode())
    yield sink.take()


def _text_cell(ref: str, value: str, style: str = "") -> str:
    if _XML_RISKY.search(value):
        value = value.translate(_XML_TEXT)
    return f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'


def _number_cell(ref: str, value) -> str:
    return f'<c r="{ref}"><v>{value}</v></c>'


def _decimal_cell(ref: str, value: Decimal) -> str:
    return f'<c r="{ref}"><v>{value:f}</v></c>'


def _date_cell(ref: str, value: date) -> str:
    return f'<c r="{ref}" s="{_DATE_STYLE}"><v>{(value - _EPOCH).days}</v></c>'


def _datetime_cell(ref: str, value: datetime) -> str:
    return f'<c r="{ref}" s="{_DATETIME_STYLE}"><v>{(value - _EPOCH_TIME) / _DAY!r}</v></c>'


_XLSX_CELLS = {
    str: _text_cell,
    int: _number_cell,
    float: _number_cell,
    Decimal: _decimal_cell,
    date: _date_cell,
    datetime: _datetime_cell,
}


class _Sink(io.RawIOBase):
    """A write-only, unseekable file whose bytes are taken out as they come (zipfile then
    writes a streamable archive, with each member's sizes after its data)."""

    def __init__(self):
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "application/vnd.openxmlformats-officedocument"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PARTS = {  # {title} stands for the sheet name, quoted
    "[Content_Types].xml": _XML
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.spreadsheetml.sheet.'
    'main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OFFICE}.spreadsheetml.'
    'worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE}.spreadsheetml.styles+xml"/>'
    "</Types>",
    "_rels/.rels": _XML + f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
    '<sheet name={title} sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": _XML + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
    "xl/styles.xml": _XML + f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>",
}
_SHEET_START = (
    _XML + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews><sheetData>"
)
_SHEET_END = "</sheetData></worksheet>"
