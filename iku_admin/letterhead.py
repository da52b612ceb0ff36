"""The letterhead (kop surat) the official documents print: which agency, and its emblem.

Every document reads its agency from ``document_agency``; the emblem an admin uploads is
checked here (``read_emblem``) before it is stored in the database.
"""

from __future__ import annotations

import warnings
from io import BytesIO
from xml.etree import ElementTree

from flask import current_app
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency
from models.validation import N_

# An emblem is printed about 2 cm wide: a larger file only slows every document down.
EMBLEM_MAX_BYTES = 512 * 1024
EMBLEM_MAX_SIDE = 4000  # pixels; keeps a small file from unpacking into a huge bitmap
PILLOW_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
SVG_ROOT = "{http://www.w3.org/2000/svg}svg"
NOT_AN_IMAGE = N_("The emblem must be a PNG, JPEG or SVG image.")


class EmblemError(ValueError):
    """An upload that is not an acceptable emblem: a msgid and its parameters."""

    def __init__(self, message: str, **params) -> None:
        super().__init__(message)
        self.message, self.params = message, params


def settings_agency(config) -> Agency:
    """An agency from the IKU_GOVERNMENT, IKU_AGENCY and IKU_PLACE settings."""
    return Agency(
        government=config["IKU_GOVERNMENT"],
        name=config["IKU_AGENCY"],
        place=config["IKU_PLACE"],
        address="",
        phone="",
        email="",
        website="",
        emblem_type="",
    )


def _first(session: Session) -> Agency | None:
    return session.scalar(select(Agency).order_by(Agency.id).limit(1))


def seed_agency(session: Session) -> Agency:
    """Create the agency from the settings if there is none yet (idempotent)."""
    agency = _first(session)
    if agency is None:
        agency = settings_agency(current_app.config)
        session.add(agency)
    return agency


def document_agency(session: Session) -> Agency:
    """The agency whose letterhead, name and place the documents print.

    One agency for now (the first); an unsaved one from the settings before ``seed`` ran.
    """
    agency = _first(session)
    return agency if agency is not None else settings_agency(current_app.config)


# --- Checking an uploaded emblem ----------------------------------------------------------


def read_emblem(data: bytes) -> str:
    """The MIME type of an acceptable emblem (PNG, JPEG or SVG), judged by its content.

    Raises ``EmblemError`` for a file that is too large, not one of those images, or an SVG
    with scripts.
    """
    if len(data) > EMBLEM_MAX_BYTES:
        raise EmblemError(
            N_("The emblem file is too large: at most %(kb)s KB."), kb=EMBLEM_MAX_BYTES // 1024
        )
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        return _bitmap_type(data)
    return _svg_type(data)


def _bitmap_type(data: bytes) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                kind, size = image.format, image.size
                image.verify()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:  # fmt: skip
        raise EmblemError(NOT_AN_IMAGE) from exc
    if kind not in PILLOW_TYPES:
        raise EmblemError(NOT_AN_IMAGE)
    if max(size) > EMBLEM_MAX_SIDE:
        raise EmblemError(
            N_("The emblem image is too large: at most %(pixels)s pixels a side."),
            pixels=EMBLEM_MAX_SIDE,
        )
    return PILLOW_TYPES[kind]


def _svg_type(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
        if "<!doctype" in text.lower() or "<!entity" in text.lower():
            raise ValueError("DTD")  # entities could expand without bound
        root = ElementTree.fromstring(text)
    except (UnicodeDecodeError, ValueError, ElementTree.ParseError) as exc:
        raise EmblemError(NOT_AN_IMAGE) from exc
    if root.tag != SVG_ROOT:
        raise EmblemError(NOT_AN_IMAGE)
    for element in root.iter():
        scripted = any(name.lower().startswith("on") for name in element.attrib)
        if scripted or str(element.tag).rpartition("}")[2] in ("script", "foreignObject"):
            raise EmblemError(N_("The SVG emblem must not contain scripts."))
    return "image/svg+xml"
