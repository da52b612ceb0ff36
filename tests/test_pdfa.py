"""Every PDF the app makes (the IKU, the SOP sheet, the SOP evaluation form, and the examples
in docs/) is a PDF/A file for the archive: structurally sound by ``qpdf --check``, with XMP
metadata that declares its PDF/A part and conformance, an output intent, and every font
embedded."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import fill_iku, login, make_dossier, post
from sqlalchemy import select

from models import Sop

pytestmark = pytest.mark.skipif(
    shutil.which("qpdf") is None,
    reason="qpdf is not installed (apt-get install qpdf): PDF/A checks need it",
)
DOCS = Path(__file__).parent.parent / "docs"
PDFAID = "{http://www.aiim.org/pdfa/ns/id/}"
# What iku_admin.documents.PDF_VARIANT ("pdf/a-2b") declares.
PART, CONFORMANCE = "2", "B"


@pytest.fixture(autouse=True)
def weasyprint_says_nothing(caplog):
    """WeasyPrint understands every rule of the documents' CSS: it logs no warning (but the
    notice of a machine without HarfBuzz's subset library, where it subsets with fontTools)."""
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        yield
    said = [r.getMessage() for r in caplog.get_records("call") if r.name.startswith("weasyprint")]
    assert [message for message in said if "HarfBuzz-Subset" not in message] == []


def qpdf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["qpdf", *args], capture_output=True, text=True, timeout=60)


def assert_pdfa(pdf: bytes, tmp_path: Path) -> None:
    path, plain = tmp_path / "document.pdf", tmp_path / "plain.pdf"
    path.write_bytes(pdf)
    checked = qpdf("--check", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout
    # Uncompressed, without object streams, so that the catalog and the XMP can be read.
    assert qpdf("--qdf", "--object-streams=disable", str(path), str(plain)).returncode == 0
    body = plain.read_bytes()
    xmp = re.search(rb"<rdf:RDF\b.*?</rdf:RDF>", body, re.S)
    assert xmp, "no XMP metadata"
    declared = {}
    for element in ElementTree.fromstring(xmp.group(0)).iter():
        for name in ("part", "conformance"):
            value = element.get(PDFAID + name) or (
                element.text if element.tag == PDFAID + name else None)  # fmt: skip
            if value:
                declared[name] = value.strip()
    assert declared == {"part": PART, "conformance": CONFORMANCE}
    assert re.search(rb"/Metadata\s+\d+ 0 R", body)
    assert re.search(rb"/S\s*/GTS_PDFA1", body), "no PDF/A output intent"
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                               check=True).stdout.splitlines()[2:]  # fmt: skip
        assert fonts and all(" yes " in line for line in fonts), fonts


def test_the_iku_pdf_is_pdfa(client, people, tmp_path):
    dossier = fill_iku(make_dossier())
    login(client, "kadis")
    response = client.get(f"/admin/documents/iku/{dossier.id}.pdf")
    assert response.status_code == 200
    assert_pdfa(response.data, tmp_path)


def test_the_record_sheet_pdf_is_pdfa(client, people, tmp_path):
    dossier = make_dossier()
    login(client, "kadis")
    response = client.get(f"/admin/documents/dossier/{dossier.id}.pdf")
    assert response.status_code == 200
    assert_pdfa(response.data, tmp_path)


def test_the_sop_sheet_pdf_is_pdfa(client, db, people, tmp_path):
    sop = db.session.scalars(select(Sop)).one()
    login(client, "staf")
    response = client.get(f"/admin/documents/sop/{sop.id}.pdf")
    assert response.status_code == 200
    assert_pdfa(response.data, tmp_path)


def test_the_evaluation_form_pdf_is_pdfa(client, db, people, tmp_path):
    login(client, "sekretaris")
    data = {"assessor": "Sekretaris", "assessed_on": "2026-07-15", "pdf": "1"}
    for index, step in enumerate(db.session.scalars(select(Sop)).one().steps):
        data[f"steps-{index}-position"] = str(step.position)
    response = post(client, "/admin/dashboard/evaluation/?year=2026&semester=1", data)
    assert response.mimetype == "application/pdf"
    assert_pdfa(response.data, tmp_path)


@pytest.mark.parametrize("name", ["iku-example.pdf", "sop-example.pdf"])
def test_the_example_documents_are_pdfa(name, tmp_path):
    assert_pdfa((DOCS / name).read_bytes(), tmp_path)
