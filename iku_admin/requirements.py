"""What an SOP step checks before it can be finished (Kelengkapan): the one vocabulary.

A step's ``requirements`` (``SopStep.requirements``) is a list of names, chosen in the panel
(*SOP → Langkah SOP*) from two kinds:

- **named checks**, which stay code: each is registered once in ``CHECKS`` (name -> its label
  and a function of the dossier that returns what is still missing, as messages);
- **dossier fields** that must be filled in: the built-in ones in ``FIELDS`` and, through
  ``fields``, any others; the person finishing the step types them in beside its button.

Everything else (the step form's choices, the list's labels, the workflow's check, the dossier
page's inputs, the check of stored names at every flush) reads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from models import CustomField, Dossier, SopStep
from models.validation import N_, RuleError

from . import custom_fields
from .i18n import _, _l

# --- named checks ---------------------------------------------------------------------------

# What the IKU check wants of every indicator besides targets.
INDICATOR_REQUIRED = {
    "definition": _l("definition/formula"),
    "unit": _l("unit"),
    "data_source": _l("data source"),
    "responsible": _l("responsible official"),
}


def indicator_gaps(indicator, years: list[int]) -> dict[str, str]:
    """What one indicator lacks for the IKU check: field name (``targets`` for the yearly
    targets, a custom field's code for a required custom field) -> what to tell the user.
    Read by the check and by the IKU editor alike."""
    gaps = {name: str(label) for name, label in INDICATOR_REQUIRED.items()
            if not getattr(indicator, name)}  # fmt: skip
    session = object_session(indicator)
    for extra in custom_fields.request_fields(session, "indicator") if session else ():
        if extra.required and not custom_fields.is_filled(indicator, extra.code):
            gaps[extra.code] = extra.label
    absent = sorted(set(years) - {t.year for t in indicator.targets if t.target is not None})
    if absent:
        gaps["targets"] = _("targets for %(years)s", years=", ".join(map(str, absent)))
    return gaps


def iku_content_missing(dossier: Dossier) -> list[str]:
    """At least one indicator, each complete, with a target for every year of the period."""
    indicators = [i for o in dossier.objectives for i in o.indicators]
    missing = [] if indicators else [_("at least one indicator")]
    for indicator in indicators:
        lacking = indicator_gaps(indicator, dossier.years)
        if lacking:
            missing.append(f"{indicator.name}: {', '.join(lacking.values())}")
    return missing


@dataclass(frozen=True)
class Check:
    """A named check: its label in the step form, and what it finds missing in a dossier."""

    label: object  # a lazy string
    missing: Callable[[Dossier], list[str]]


# The named checks. A new one is a function above and one line here.
IKU_CONTENT = "iku_content"
CHECKS: dict[str, Check] = {
    IKU_CONTENT: Check(_l("Complete IKU content"), iku_content_missing),
}

# --- dossier fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A dossier field a step may require: ``label`` names it in the step form and beside the
    finish button, ``phrase`` inside "Incomplete: …"; ``multi_line`` fields are typed in a
    text area; ``max_length`` is the most characters it keeps (None: no limit)."""

    name: str
    label: object
    phrase: object
    multi_line: bool = False
    max_length: int | None = None
    # A custom field (``models.CustomField``): its value lives in ``dossier.extra``.
    custom: CustomField | None = None

    def read(self, dossier: Dossier) -> str:
        """The stored value (a custom field's in its canonical form)."""
        if self.custom is not None:
            return (dossier.extra or {}).get(self.name) or ""
        return getattr(dossier, self.name) or ""

    def shown(self, dossier: Dossier, locale: str) -> str:
        """The value as the finishing person sees it in its input (numbers and dates as their
        language writes them)."""
        if self.custom is not None:
            return custom_fields.editable(self.custom, self.read(dossier) or None, locale)
        return self.read(dossier)

    def write(self, dossier: Dossier, value: str, locale: str) -> None:
        """Store what was typed; a custom field's value is read as its kind wants (a
        ``ValueError`` with the message when it cannot be)."""
        if self.custom is None:
            setattr(dossier, self.name, value)
            return
        stored = custom_fields.parse(self.custom, value, locale)
        extra = dict(dossier.extra or {})
        if stored is None:
            extra.pop(self.name, None)
        else:
            extra[self.name] = stored
        dossier.extra = extra


def _builtin(name: str, label, phrase, multi_line: bool = False) -> Field:
    length = Dossier.__table__.columns[name].type.length
    return Field(name, label, phrase, multi_line, length)


# The dossier's own columns a step may require (at step 9 of the seeded SOP).
FIELDS: dict[str, Field] = {
    field.name: field
    for field in (
        _builtin("outgoing_agenda_number", _l("Outgoing letter agenda number"),
                 _l("outgoing letter agenda number")),
        _builtin("distribution_record", _l("Distribution record"), _l("distribution record"),
                 multi_line=True),
    )
}  # fmt: skip


def fields(session: Session | None) -> dict[str, Field]:
    """Every dossier field a step may require, in the order the step form offers them."""
    found = dict(FIELDS)
    if session is None:
        return found
    for custom in custom_fields.request_fields(session, "dossier"):
        found[custom.code] = Field(custom.code, custom.label, custom.label,
                                   multi_line=False, max_length=None, custom=custom)  # fmt: skip
    return found


# --- what the rest of the application asks --------------------------------------------------


def choices(session: Session | None) -> list[tuple[str, str]]:
    """(name, label) of every requirement a step may have: named checks first, then fields."""
    return [(name, str(check.label)) for name, check in CHECKS.items()] + [
        (name, str(field.label)) for name, field in fields(session).items()
    ]


def labels(session: Session | None, names: Iterable[str]) -> list[str]:
    """The labels of these requirement names, in order (a name no longer known as itself)."""
    known = dict(choices(session))
    return [known.get(name, name) for name in names]


def field_names(names: Iterable[str]) -> list[str]:
    """The requirable fields among a step's requirements, in order: those typed in beside the
    finish button. Every requirement that is not a named check is a field."""
    return [name for name in names if name not in CHECKS]


def step_fields(session: Session | None, names: Iterable[str]) -> list[Field]:
    """The ``Field`` of each requirable field among these requirements, in order."""
    wanted = field_names(names)
    known = FIELDS if all(n in FIELDS for n in wanted) else fields(session)
    return [known[name] for name in wanted if name in known]


def missing(dossier: Dossier, names: Iterable[str]) -> list[str]:
    """What the dossier still lacks for these requirements, as messages (empty: complete)."""
    names = list(names)
    found: list[str] = []
    for name in names:
        if name in CHECKS:
            found.extend(CHECKS[name].missing(dossier))
    for field in step_fields(object_session(dossier), names):
        if not field.read(dossier).strip():
            found.append(str(field.phrase))
    return found


def unknown(session: Session | None, names: Iterable[str]) -> list[str]:
    """The names among these that are no requirement at all."""
    strange = [name for name in names if name not in CHECKS and name not in FIELDS]
    if strange:
        known = fields(session)
        strange = [name for name in strange if name not in known]
    return strange


# --- the names a step stores, checked at every flush ----------------------------------------


def init_app(app: Flask) -> None:
    """Check every step's requirements before each flush of every session (registered once
    per process, like the content lock)."""
    if not event.contains(Session, "before_flush", _check):
        event.listen(Session, "before_flush", _check)


def _check(session: Session, flush_context, instances) -> None:
    for step in [*session.new, *session.dirty]:
        if not isinstance(step, SopStep):
            continue
        strange = unknown(session, step.requirements or [])
        if strange:
            raise RuleError(N_("Unknown requirement: %(name)s."), name=strange[0])
