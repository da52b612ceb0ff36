"""Reading what people type, strictly: the form fields every model form gets from its columns,
and row ids in URLs. A value a column cannot hold, or digits of another script, get a message
(or a 404), never a database error nor a different number than the one shown."""

from __future__ import annotations

from flask_admin.model.form import converts
from werkzeug.routing import BaseConverter, ValidationError
from wtforms import fields, widgets
from wtforms.validators import ValidationError as FieldError

from models.validation import (
    DATE_FORMAT_MESSAGE,
    date_error,
    parse_date,
    parse_integer,
    single_line_error,
)

from ..i18n import _
from ..numbers import NumberConverter


def rule(check):
    """A WTForms validator from a field rule of ``models.validation``."""

    def validate(form, field) -> None:
        error = check(field.data)
        if error:
            raise FieldError(_(error))

    return validate


single_line = rule(single_line_error)
in_date_range = rule(date_error)


class DateField(fields.DateField):
    """A date in the browser's own date picker (``<input type="date">``, laid out in the
    browser's language), or typed as dd/mm/yyyy where there is none. Anything else, or a day
    that does not exist, gets a message naming the format, never another date."""

    widget = widgets.DateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("format", None)
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)  # what the input reads

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = parse_date(" ".join(valuelist))
        if self.data is None:
            raise ValueError(_(DATE_FORMAT_MESSAGE))


class ModelConverter(NumberConverter):
    """Flask-Admin's form fields for our columns, each with the rules of ``models.validation``:
    single-line text without control characters, dates (``DateField``) in the years people
    enter, and (from ``NumberConverter``) numbers in the user's locale that the column holds."""

    @converts("String")
    def conv_String(self, column, field_args, **extra):
        field_args["validators"].append(single_line)
        return super().conv_String(column=column, field_args=field_args, **extra)

    @converts("Date")
    def convert_date(self, field_args, **extra):
        field_args["validators"].append(in_date_range)
        return DateField(**field_args)


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
