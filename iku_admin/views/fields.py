"""Reading what people type, strictly: the form fields every model form gets from its columns,
and row ids in URLs. A value a column cannot hold, or digits of another script, get a message
(or a 404), never a database error nor a different number than the one shown."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from werkzeug.routing import BaseConverter, ValidationError
from wtforms import fields
from wtforms.validators import ValidationError as FieldError

from models.validation import INTEGER, date_error, parse_integer, single_line_error

from ..i18n import _


def rule(check):
    """A WTForms validator from a field rule of ``models.validation``."""

    def validate(form, field) -> None:
        error = check(field.data)
        if error:
            raise FieldError(_(error))

    return validate


single_line = rule(single_line_error)
in_date_range = rule(date_error)


class IntegerField(fields.IntegerField):
    """WTForms' integer field, reading only ASCII digits and only what an Integer column holds."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = parse_integer(valuelist[0])
        if self.data is None:
            if INTEGER.fullmatch(valuelist[0].strip()):
                raise ValueError(_("The number is too large for this field."))
            raise ValueError(_("Not a valid integer value."))


class DecimalField(fields.DecimalField):
    """WTForms' decimal field, reading only "-123.45" written in ASCII digits that fits the
    column's precision and scale (no NaN, no exponent, no rounding by the database)."""

    def __init__(self, *args, precision: int, scale: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.pattern = re.compile(rf"-?[0-9]{{1,{precision - scale}}}(\.[0-9]{{1,{scale}}})?")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = valuelist[0].strip()
        self.data = Decimal(text) if self.pattern.fullmatch(text) else None
        if self.data is None:
            raise ValueError(_("Enter a number that fits this field, such as 1234.5."))


class ModelConverter(AdminModelConverter):
    """Flask-Admin's form fields for our columns, each with the rules of ``models.validation``:
    single-line text without control characters, integers and decimals the column holds,
    dates in the years people enter."""

    @converts("String")
    def conv_String(self, column, field_args, **extra):
        field_args["validators"].append(single_line)
        return super().conv_String(column=column, field_args=field_args, **extra)

    @converts("Integer")
    def handle_integer_types(self, column, field_args, **extra):
        return IntegerField(**field_args)

    @converts("Numeric")
    def handle_decimal_types(self, column, field_args, **extra):
        field_args.setdefault("places", None)  # show the stored value as it is
        return DecimalField(precision=column.type.precision, scale=column.type.scale, **field_args)

    @converts("Date")
    def convert_date(self, field_args, **extra):
        field_args["validators"].append(in_date_range)
        return super().convert_date(field_args=field_args, **extra)


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: a row id in ASCII digits that an Integer column holds (any
    other value does not match the route: 404)."""

    regex = r"[0-9]{1,12}"

    def to_python(self, value: str) -> int:
        number = parse_integer(value, minimum=1)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))
