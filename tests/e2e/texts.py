"""Every visible text the browser tests look for, in one place.

The interface is Indonesian by default. Rather than copying Indonesian sentences here (the
catalog is still being written), each text is the app's own English message id, translated
the way the server translates it for an Indonesian user: the tests follow the catalog as it
grows. Adjust here if a message id changes.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale

from iku_admin.i18n import _

LANGUAGE = "id"  # the default interface language, and the <html lang> of every page


def shown(app: Flask, msgid: str, **values) -> str:
    """``msgid`` as an Indonesian user sees it."""
    with app.test_request_context(), force_locale(LANGUAGE):
        return _(msgid, **values)


def my_tasks(app: Flask) -> str:
    """The landing page's name ("Tugas Saya")."""
    return shown(app, "My tasks")


def step_recorded(app: Flask, n: int, outcome: str = "done") -> str:
    """The flash after a transition: "Step 3 recorded: done."."""
    return shown(app, "Step %(n)s recorded: %(outcome)s.", n=n, outcome=shown(app, outcome))


def _incomplete(app: Flask, *missing: str) -> str:
    """The refusal of a step whose inputs are missing (Kelengkapan), listing them."""
    listed = "; ".join(shown(app, msgid) for msgid in missing)
    return shown(app, "Incomplete: %(missing)s.", missing=listed)


def no_iku_yet(app: Flask) -> str:
    """Step 3 refused while the dossier has no indicator."""
    return _incomplete(app, "at least one indicator")


def no_outgoing_letter_yet(app: Flask) -> str:
    """Step 9 refused before the outgoing letter is recorded."""
    return _incomplete(app, "outgoing letter agenda number", "distribution record")


def processed(app: Flask, count: int) -> str:
    """The start of the message naming the dossiers a bulk action processed."""
    message = shown(app, "%(count)s dossier(s) processed: %(names)s.", count=count, names="\0")
    return message.partition("\0")[0]


def skipped(app: Flask, count: int) -> str:
    return shown(app, "%(count)s dossier(s) skipped:", count=count)


def nip_length(app: Flask) -> str:
    return shown(app, "NIP must be exactly 18 digits.")


def target_year_outside_period(app: Flask) -> str:
    return shown(app, "The target year must lie inside the dossier's period.")
