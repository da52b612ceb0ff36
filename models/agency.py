"""The agency (OPD) whose name, emblem and letterhead the official documents print."""

from __future__ import annotations

import base64

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Agency(Base):
    """One agency's letterhead (kop surat): emblem, centred lines, place of signing.

    The emblem is kept in the database, not on a disk, so every app host prints the same.
    """

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    government: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")  # one printed line per line
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(150), default="")
    website: Mapped[str] = mapped_column(String(150), default="")
    place: Mapped[str] = mapped_column(String(100))
    emblem: Mapped[bytes | None] = mapped_column(LargeBinary)
    emblem_type: Mapped[str] = mapped_column(String(20), default="")
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    @property
    def contact_line(self) -> str:
        """Phone, e-mail and website on one line, as letterheads print them."""
        parts = [
            f"Telepon {self.phone}" if self.phone else "",
            f"Email: {self.email}" if self.email else "",
            f"Laman: {self.website}" if self.website else "",
        ]
        return " – ".join(part for part in parts if part)

    @property
    def emblem_url(self) -> str | None:
        """The emblem as a ``data:`` URL: a page and its PDF carry it, nothing is fetched."""
        if not self.emblem:
            return None
        return f"data:{self.emblem_type};base64,{base64.b64encode(self.emblem).decode('ascii')}"
