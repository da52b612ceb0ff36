"""Regenerate the example documents in docs/ from the seed SOP and the demo data.

    .venv/bin/python docs/make_examples.py

Builds a throw-away SQLite database with the migrations, loads the seed and the demo data
(iku_admin/seed.py) and renders docs/sop-example.pdf (the SOP sheet) and
docs/iku-example.pdf (the IKU of the first demo dossier), both PDF/A; then, with poppler's
pdftoppm, the README's picture of the IKU page, docs/screenshots/iku-document.png.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from iku_admin import create_app, documents  # noqa: E402
from iku_admin.extensions import db  # noqa: E402
from iku_admin.seed import demo  # noqa: E402
from models import Dossier  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SECRET_KEY": secrets.token_hex(16),
                "IKU_DEMO": True,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'examples.db'}",
            }
        )
        with app.app_context(), app.test_request_context():
            upgrade()
            demo(db.session)
            dossier = db.session.scalars(select(Dossier).order_by(Dossier.id)).first()
            (HERE / "sop-example.pdf").write_bytes(documents.sop_pdf(dossier.sop))
            (HERE / "iku-example.pdf").write_bytes(documents.iku_pdf(dossier))
            db.session.remove()
            db.engine.dispose()
    print(f"Wrote {HERE / 'sop-example.pdf'} and {HERE / 'iku-example.pdf'}")
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found (apt-get install poppler-utils): the PNG was not redrawn")
        return
    picture = HERE / "screenshots" / "iku-document"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", HERE / "iku-example.pdf",
                    picture], check=True)  # fmt: skip
    print(f"Wrote {picture}.png")


if __name__ == "__main__":
    main()
