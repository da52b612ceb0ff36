"""Custom fields: extra fields on dossiers and indicators that the admin defines in the panel.

A field's values live in the ``extra`` JSON column of the row it extends (code -> canonical
text; see ``iku_admin/custom_fields.py`` for how each kind is read and shown). The rules of a
definition are kept here, on every write path: its code is a slug chosen once (values are
stored under it), not the name of an attribute of the model it extends, and a choice field
lists its choices while other kinds list none.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, UniqueConstraint, event
from sqlalchemy import inspect as inspect_model
from sqlalchemy.orm import Mapped, mapped_column, validates

from .base import Base
from .validation import N_, RuleError, fixed_code

# What a custom field extends, and the kinds of value it holds: the one list of each.
ENTITIES = ("dossier", "indicator")
KINDS = ("text", "number", "date", "choice")
MAX_CHOICES = 100
MAX_CHOICE_LENGTH = 120


def entity_model(entity: str) -> type:
    """The model a custom field of ``entity`` extends."""
    from .dossier import Dossier, Indicator

    return {"dossier": Dossier, "indicator": Indicator}[entity]


# Names the panel's own forms and records use beside a model's attributes: the inputs posted
# with a field typed in beside a step's button, and the audit log's markers.
FORM_NAMES = {"action", "note", "csrf_token", "url", "changed", "bytes"}


def reserved_names(entity: str) -> set[str]:
    """The attribute names of the model ``entity`` (its columns, relationships and
    properties) and ``FORM_NAMES``: a field's code may be none of them."""
    model = entity_model(entity)
    names = set(inspect_model(model).attrs.keys()) | FORM_NAMES
    return names | {name for name in dir(model) if not name.startswith("_")}


class CustomField(Base):
    """One field the admin added to dossiers or indicators. A field that holds values is
    deactivated, not deleted (its values stay in the rows)."""

    __tablename__ = "custom_field"
    __table_args__ = (
        UniqueConstraint("entity", "code"),
        CheckConstraint("entity in ('dossier', 'indicator')", name="entity"),
        CheckConstraint("kind in ('text', 'number', 'date', 'choice')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default="text")
    choices: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=1)
    in_list: Mapped[bool] = mapped_column(Boolean, default=True)
    # Indicator fields only: an indicator without it is not complete for the IKU check.
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # optimistic locking of edits

    def __str__(self) -> str:
        return self.label

    @property
    def choice_list(self) -> list[str]:
        """The choices, one per line, blank lines left out."""
        return [line.strip() for line in (self.choices or "").splitlines() if line.strip()]

    @validates("code")
    def _check_code(self, key: str, value: str | None) -> str:
        return fixed_code(
            self, value, N_("A field's code cannot change once the field is created."),
            N_("A field's code is lowercase letters, digits and underscores, starting with "
               "a letter, e.g. alasan_pemilihan."),
        )  # fmt: skip

    @validates("entity")
    def _check_entity(self, key: str, value: str | None) -> str | None:
        if inspect_model(self).has_identity and value != self.entity:
            raise RuleError(N_("A field stays on what it was created for."))
        if value not in ENTITIES:
            raise RuleError(N_("Choose what the field is added to."))
        return value

    @validates("kind")
    def _check_kind(self, key: str, value: str | None) -> str | None:
        if value not in KINDS:
            raise RuleError(N_("Choose the kind of value."))
        return value


def definition_error(field: CustomField) -> str | None:
    """What is wrong with a field's definition as a whole, if anything (message id)."""
    if field.entity in ENTITIES and field.code in reserved_names(field.entity):
        return N_("This code is already the name of a built-in field: choose another.")
    choices = field.choice_list
    if field.kind == "choice":
        if not choices:
            return N_("A choice field needs its choices, one per line.")
        if len(choices) > MAX_CHOICES:
            return N_("At most 100 choices.")
        if any(len(c) > MAX_CHOICE_LENGTH for c in choices):
            return N_("A choice has at most 120 characters.")
        if len({c.casefold() for c in choices}) != len(choices):
            return N_("Each choice appears once.")
    elif choices:
        return N_("Only a choice field has choices: leave them empty.")
    return None


def _check_definition(mapper, connection, target: CustomField) -> None:
    error = definition_error(target)
    if error:
        raise RuleError(error)
    target.choices = "\n".join(target.choice_list)


event.listen(CustomField, "before_insert", _check_definition)
event.listen(CustomField, "before_update", _check_definition)
