"""The guarded base views every screen extends: login, role check, CSRF, same-site return
targets, safe export."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from operator import attrgetter, itemgetter

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla import ModelView, filters
from flask_admin.form import BaseForm
from flask_admin.model import typefmt
from flask_admin.model.filters import BaseBooleanFilter, BaseFloatListFilter, BaseIntListFilter
from flask_admin.tools import rec_getattr
from flask_babel import LazyString, get_locale, pgettext
from flask_login import current_user
from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.utils import secure_filename
from wtforms import HiddenField
from wtforms.validators import ValidationError

import models.base
from models import AuditEntry
from models.validation import RuleError, date_error, parse_integer

from .. import auth, export_rows, spreadsheet, workflow
from ..extensions import db
from ..i18n import FormTranslations, _, _l, fmt_date
from ..numbers import Bounds, NumberError
from .fields import ModelConverter
from .redirects import SameSiteReturn

# Characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What a spreadsheet may pass over before a formula: whitespace (the no-break and other
# Unicode spaces included), the byte-order mark and the zero-width characters.
INVISIBLE_PREFIX = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + (
    "\ufeff\u200b\u200c\u200d\u2060"
)


def neutralise_cell(value):
    """Keep a spreadsheet from running a text cell as a formula (prefix it with a quote),
    also when the formula hides behind whitespace or invisible characters."""
    if (
        isinstance(value, str)
        and value[:1] in _RISKY_FIRST
        and (
            value.startswith(FORMULA_PREFIXES)
            or value.lstrip(INVISIBLE_PREFIX).startswith(FORMULA_PREFIXES)
        )
    ):
        return "'" + value
    return value


_RISKY_FIRST = frozenset(FORMULA_PREFIXES) | frozenset(INVISIBLE_PREFIX)


def _finite(number):
    return number if math.isfinite(number) else str(number)


def _as_text(value) -> str:
    return neutralise_cell(str(value))


# How a value of each type becomes a typed export cell (None: as it is); a value of any other
# type (a related record, a label) becomes neutralised text.
CELL_MAKERS = {
    str: neutralise_cell,
    int: None,
    Decimal: _finite,
    float: _finite,
    date: None,
    datetime: None,
    type(None): None,
}


def export_cell(value):
    """A value as a typed export cell (see ``CELL_MAKERS``)."""
    maker = CELL_MAKERS.get(type(value), _as_text)
    return value if maker is None else maker(value)


def _validated_by_clean(filter_class: type) -> type:
    """A filter whose ``validate`` runs its ``clean`` (Flask-Admin's "between" filters validate
    without it), so a value ``clean`` refuses is flashed as invalid and ignored."""

    class Validated(filter_class):
        def validate(self, value) -> bool:
            try:
                self.clean(value)
            except ValueError:
                return False
            return super().validate(value)

    Validated.__name__ = filter_class.__name__
    return Validated


def _locale_number(filter_class: type) -> type:
    """A numeric list filter that reads its value as the user's locale writes numbers, within
    what its column holds (instead of a SQL error); a list's items are split on commas. The
    "empty" filter keeps its "0"/"1" value."""
    if issubclass(filter_class, BaseBooleanFilter):
        return filter_class
    listed = issubclass(filter_class, (BaseIntListFilter, BaseFloatListFilter))

    class LocaleNumber(_validated_by_clean(filter_class)):
        def clean(self, value):
            bounds = Bounds.of(self.column.type)
            if listed:
                return [bounds.parse(item) for item in value.split(",") if item.strip()]
            return bounds.parse(value)

    LocaleNumber.__name__ = filter_class.__name__
    return LocaleNumber


def _date_range(filter_class: type) -> type:
    """A date or time filter that refuses dates outside ``DATE_YEARS`` (instead of a SQL
    error or an overflow)."""

    class DateRange(_validated_by_clean(filter_class)):
        def clean(self, value):
            cleaned = super().clean(value)
            for item in cleaned if isinstance(cleaned, list) else [cleaned]:
                if isinstance(item, date) and date_error(item):
                    raise ValueError(item)
            return cleaned

    DateRange.__name__ = filter_class.__name__
    return DateRange


class FilterConverter(filters.FilterConverter):
    """Flask-Admin's filters, reading numbers in the user's locale, bounded to what the columns
    hold, and for our UTC timestamps.

    A list of decimals is not offered: the Indonesian decimal comma is also its item separator.
    """

    int_filters = tuple(_locale_number(f) for f in filters.FilterConverter.int_filters)
    float_filters = tuple(
        _locale_number(f)
        for f in filters.FilterConverter.float_filters
        if not issubclass(f, BaseFloatListFilter)
    )
    date_filters = tuple(map(_date_range, filters.FilterConverter.date_filters))
    datetime_filters = tuple(map(_date_range, filters.FilterConverter.datetime_filters))

    @filters.filters.convert("UTCDateTime")
    def conv_utc_datetime(self, column, name, **kwargs):
        return self.conv_datetime(column, name, **kwargs)


def office_time(value: datetime) -> datetime:
    """An aware time as a naive one in office time: a spreadsheet knows no time zones."""
    return value.astimezone(models.base.LOCAL_TZ).replace(tzinfo=None)


TYPE_FORMATTERS = {
    **typefmt.BASE_FORMATTERS,
    datetime: lambda view, value, name=None: fmt_date(value),
    date: lambda view, value, name=None: fmt_date(value),
    bool: lambda view, value, name=None: (
        pgettext("boolean", "Yes") if value else pgettext("boolean", "No")
    ),
}
EXPORT_FORMATTERS = {
    # Typed cells (see spreadsheet.py): an empty cell, a date, a time in office time (a
    # spreadsheet knows no time zones; the files show it to the minute), yes and no in words.
    **typefmt.EXPORT_FORMATTERS,
    type(None): lambda view, value, name=None: None,
    datetime: lambda view, value, name=None: office_time(value),
    bool: TYPE_FORMATTERS[bool],
}


class ExportCells(dict):
    """How one export column's values become typed cells, by type of value: Flask-Admin's
    type formatting (the first of the view's ``column_type_formatters_export`` whose type the
    value is an instance of), then ``export_cell``; a lazy label is translated once. Each
    type's function (None: the value as it is) is worked out the first time it is seen.
    ``finish`` ({type: function}) is then applied to cells of those types: a CSV's text."""

    # What these kinds of value become is text or a whole number, which ``finish`` leaves be.
    FINISHED = frozenset({str, int, type(None), LazyString})

    def __init__(self, view, name: str, finish: dict | None = None):
        super().__init__()
        self.view = view
        self.name = name
        self.finish = finish

    def __missing__(self, kind: type):
        maker = self._maker(kind)
        if self.finish and kind not in self.FINISHED:
            if maker is office_time and datetime in self.finish:  # most cells of an export
                text, zone = self.finish[datetime], models.base.LOCAL_TZ
                maker = lambda value: text(value.astimezone(zone))  # noqa: E731
            else:
                maker = self._finished(maker or (lambda value: value), self.finish)
        self[kind] = maker
        return maker

    @staticmethod
    def _finished(make, finish: dict):
        return lambda v: c if (f := finish.get(type(c := make(v)))) is None else f(c)

    def _maker(self, kind: type):
        formatters = self.view.column_type_formatters_export.items()
        formatter = next((f for t, f in formatters if issubclass(kind, t)), None)
        if formatter is EXPORT_FORMATTERS[datetime]:
            return office_time  # the same, without two calls around it for every cell
        if formatter is not None:
            return lambda value: export_cell(formatter(self.view, value, self.name))
        if kind is LazyString:
            texts = {}  # a label (kept, so that its id stays its own) -> its text

            def translated(label):
                if id(label) not in texts:
                    if len(texts) > 100:  # labels made afresh for every row
                        texts.clear()
                    texts[id(label)] = (label, neutralise_cell(str(label)))
                return texts[id(label)][1]

            return translated
        return CELL_MAKERS.get(kind, _as_text)


class TranslatedForm(BaseForm):
    """Flask-Admin's form base class, with WTForms' messages from our catalog."""

    class Meta:
        _translations = FormTranslations()

        def get_translations(self, form):
            return self._translations


def deny(name: str | None = None):
    """Send anonymous users to the login page and refuse everyone else with 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


class GuardedModelView(SameSiteReturn, ModelView):
    """A ModelView whose access follows ``auth.MATRIX`` for its endpoint.

    Subclasses set ``allow_create``/``allow_edit``/``allow_delete`` to say what the screen
    supports at all; whether the current user may do it comes from the matrix.
    """

    allow_create = True
    allow_edit = True
    allow_delete = True
    can_view_details = True
    can_set_page_size = True
    page_size = 20
    form_base_class = TranslatedForm
    list_template = "admin/iku_list.html"  # Flask-Admin's list, CSP-safe and labelled
    filter_converter = FilterConverter()
    model_form_converter = ModelConverter  # strict text, dates, and numbers in the locale
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_type_formatters_export = EXPORT_FORMATTERS
    details_modal = False
    create_modal = False
    edit_modal = False

    # View methods that change data, and the permission each needs.
    WRITE_VIEWS = {
        "create_view": "can_create",
        "edit_view": "can_edit",
        "delete_view": "can_delete",
    }

    def is_accessible(self) -> bool:
        return auth.can_read(current_user, self.endpoint)

    def inaccessible_callback(self, name, **kwargs):
        return deny(name)

    @property
    def writable(self) -> bool:
        return auth.can_write(current_user, self.endpoint)

    @property
    def can_create(self) -> bool:
        return self.allow_create and self.writable

    @property
    def can_edit(self) -> bool:
        return self.allow_edit and self.writable

    @property
    def can_delete(self) -> bool:
        return self.allow_delete and self.writable

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is not None:
            return response
        needed = self.WRITE_VIEWS.get(name)
        if needed and not getattr(self, needed):
            abort(403)
        if name == "ajax_update":
            # Inline editing is used nowhere; its endpoint ignores can_edit, so close it.
            abort(403)
        if name == "action_view" and not self.is_action_allowed(request.form.get("action", "")):
            abort(403)
        return None

    @action("delete", lazy_gettext("Delete"),
            lazy_gettext("Are you sure you want to delete selected records?"))  # fmt: skip
    def action_delete(self, ids):
        # Flask-Admin's own, with the posted ids checked and made integers first.
        return super().action_delete(self.row_ids(ids))

    @staticmethod
    def row_ids(values: list[str]) -> list[int]:
        """Row ids posted by a list action, as integers (PostgreSQL will not compare text);
        400 unless each is an id (ASCII digits an Integer column holds)."""
        ids = [parse_integer(value, minimum=1) for value in values]
        if None in ids:
            abort(400)
        return ids

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        return name in self._actions_data and super().is_action_allowed(name)

    # --- optimistic locking: every edit form carries the version it was loaded with -------

    version_field = "row_version"

    def scaffold_form(self):
        form_class = super().scaffold_form()
        setattr(form_class, self.version_field, HiddenField())
        return form_class

    def create_form(self, obj=None):
        form = super().create_form(obj)
        del form[self.version_field]
        return form

    def update_model(self, form, model) -> bool:
        field = form[self.version_field]
        # What the browser sent; missing or not a number, it matches no version.
        seen = parse_integer(field.raw_data[0] if field.raw_data else None, minimum=0)
        del form[self.version_field]  # the ORM bumps the version itself
        if getattr(model, self.version_field) != seen:
            flash(self.conflict_message(model), "error")
            return False
        return super().update_model(form, model)

    def conflict_message(self, model) -> str:
        """Who changed the record last, and when (from the audit log)."""
        entry = db.session.scalar(
            select(AuditEntry)
            .where(
                AuditEntry.table_name == self.model.__tablename__,
                AuditEntry.row_id == str(model.id),
            )
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        who, when = (entry.username, fmt_date(entry.at)) if entry else ("?", "?")
        return _(
            "This record was changed by %(who)s at %(when)s after you opened it. Your changes "
            "were not saved; reload the page to see the current data.",
            who=who,
            when=when,
        )

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, workflow.WorkflowError):  # e.g. the content lock, at the flush
            flash(str(exc), "error")
            return True
        if isinstance(exc, StaleDataError):
            flash(_("This record was changed by someone else at the same moment. Your changes "
                    "were not saved; reload the page."), "error")  # fmt: skip
            return True
        if isinstance(exc, IntegrityError):
            flash(_("This data conflicts with data already stored (for example a duplicate "
                    "or a record still in use)."), "error")  # fmt: skip
            return True
        if isinstance(exc, RuleError):  # a model rule; its message is a msgid
            flash(_(exc.message, **exc.params), "error")
            return True
        if isinstance(exc, ValidationError):  # a view's rule, its message translated
            return super().handle_view_exception(exc)
        if isinstance(exc, DataError | ValueError | OverflowError):
            # A value no column holds that the form let through: never show the exception's
            # own text ("year 0 is out of range", "Python int too large …").
            flash(_("A value is too large or not valid for this field."), "error")
            return True
        return super().handle_view_exception(exc)

    def get_invalid_value_msg(self, value, filter) -> str:
        """A refused number filter also says why, as a number field would."""
        message = super().get_invalid_value_msg(value, filter)
        try:
            filter.clean(value)
        except NumberError as error:
            return f"{message} ({filter.name}: {error})"
        except ValueError:
            pass
        return message

    def _get_list_extra_args(self):
        """Keep page numbers and sizes within what a list can show (no SQL overflow)."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), 1_000_000)
        if args.page_size not in self.page_size_options:
            args.page_size = 0  # Flask-Admin then uses the view's page size
        return args

    def selection_value(self, row) -> str:
        """What a row's checkbox posts to a list action (its primary key by default)."""
        return str(self.get_pk_value(row))

    #: The name of a row's checkbox, which row it selects: "Pilih berkas #12" (its id).
    selection_text = _l("Select record #%(id)s")

    def selection_label(self, row) -> str:
        return str(self.selection_text) % {"id": self.get_pk_value(row)}

    def _apply_pagination(self, query, page, page_size):
        """Deep pages: find the page's ids first (an index-only scan), then load those rows,
        instead of fetching every skipped row with its joins."""
        paged = super()._apply_pagination(query, page, page_size)
        if not page:
            return paged
        ids = paged.with_entities(self.model.id).subquery()
        return query.filter(self.model.id.in_(select(ids.c.id)))

    def get_one(self, id):
        """Fetch one row through ``get_query`` so rows hidden from the list stay hidden."""
        pk = parse_integer(id, minimum=1)
        if pk is None:  # not an id (nor one the database can compare)
            abort(404)
        model = self.get_query().filter(self.model.id == pk).one_or_none()
        if model is None:
            abort(404)
        return model

    # --- exports: keyset-paged batches, each read in a short transaction of its own -------

    # Rows read per query: fewer, larger batches cost less per row (5,000 dossiers take
    # about 10 MB while they are turned into cells).
    export_batch_size = 5000

    def _export_data(self, finish: dict | None = None):
        """The list's rows (its search, filters and order; ``export_max_rows`` at most) as
        lists of typed cells, read ``export_batch_size`` at a time after the previous batch's
        last sort key, never all at once and never through a cursor left open while the
        download runs. ``finish``: see ``ExportCells``."""
        args = self._get_list_extra_args()
        sort = self._get_column_by_idx(args.sort)
        sort_column = sort[0] if sort else None
        count, query = self.get_list(
            0, sort_column, args.sort_desc, args.search, args.filters, execute=False, page_size=0
        )
        query, keys = self._export_keys(query.order_by(None), sort_column, args.sort_desc)
        names = self.export_selected([name for name, _label in self.export_columns()])
        query = query.with_entities(*export_rows.columns(self.model, names))
        return count, self._export_batches(query, keys, self._export_readers(query, finish))

    def export_columns(self) -> list[tuple[str, str]]:
        """The export's columns, (name, label), for this request."""
        return self._export_columns

    def export_selected(self, names: list[str]) -> list[str]:
        """The attributes an export reads for its columns ``names``."""
        return names

    def export_reader(self, name: str, selected: list[str], finish: dict | None):
        """How an export reads the column ``name`` when it is no attribute of the model:
        (reads the batch's plain rows, a function from a row or record to the value, its
        ``ExportCells``); None for an attribute. ``selected``: the rows' column names."""
        return None

    def _export_keys(self, query, sort_column, sort_desc):
        """The list's order as ``[(expression, descending)]``, ties broken by primary key."""
        if sort_column is None:
            order = list(self._get_default_order())
        elif sort_column in self._sortable_columns:
            fields = self._sortable_columns[sort_column]
            paths = self._sortable_joins.get(sort_column)
            if not isinstance(fields, list):
                fields, paths = [fields], [paths]
            order = [(field, path, sort_desc) for field, path in zip(fields, paths, strict=True)]
        else:
            order = []  # Flask-Admin leaves such a list unsorted
        keys = []
        for field, path, descending in order:
            query, _joins, alias = self._apply_path_joins(query, {}, path, inner_join=False)
            keys.append((field if alias is None else getattr(alias, field.key), descending))
        for column in inspect(self.model).primary_key:
            if not any(key.compare(column) for key, _descending in keys):
                keys.append((column, False))
        return query, keys

    def _export_batches(self, query, keys, readers):
        """Yield the rows batch by batch; each batch is read, made into typed cells and its
        transaction ended before its rows are handed on."""
        nulls_high = db.session.get_bind().dialect.name in {"postgresql", "oracle"}
        # Plain column rows, not ORM objects (see export_rows), then the sort keys.
        query = query.add_columns(*(key for key, _descending in keys)).order_by(
            *(key.desc() if descending else key.asc() for key, descending in keys)
        )
        left = self.export_max_rows or float("inf")
        last = None
        while left > 0:
            size = min(self.export_batch_size, left)
            page = query if last is None else query.filter(_after(keys, last, nulls_high))
            # The stream runs after the view's session was removed: read in the current one,
            # and end its transaction before the rows go out (none stays open while the client
            # downloads, nor after it stops; the session keeps nothing of the batch).
            batch, last = self._export_batch(page.limit(size).statement, readers, len(keys))
            db.session.rollback()
            yield from batch
            if len(batch) < size:
                return
            left -= size

    def _export_batch(self, statement, readers, n_keys: int) -> tuple[list, tuple | None]:
        """One batch's rows of typed cells, and its last row's sort key. The cells are made
        column by column: a plain column is read from the rows themselves, anything else
        (a formatter, a relationship) from records that read like the model."""
        rows = db.session.connection().execute(statement).all()
        records = None
        columns = []
        for from_row, get, cells in readers:
            if not from_row and records is None:
                records = export_rows.Batch(db.session(), self.model, rows).records()
            values = map(get, rows if from_row else records)
            columns.append([v if (make := cells[type(v)]) is None else make(v) for v in values])
        return list(zip(*columns, strict=True)), tuple(rows[-1][-n_keys:]) if rows else None

    def _export_readers(self, query, finish: dict | None = None) -> list:
        """Per export column: whether it reads the batch's plain rows (a column ``query``
        selects, with no formatter) or its records, how, and its ``ExportCells``."""
        names = [column["name"] for column in query.column_descriptions]
        readers = []
        for name, _label in self.export_columns():
            special = self.export_reader(name, names, finish)
            if special is not None:
                readers.append(special)
                continue
            from_row = name in names and name not in self.column_formatters_export
            read = itemgetter(names.index(name)) if from_row else None
            readers.append((from_row, *self._export_reader(name, read, finish)))
        return readers

    def _export_reader(self, name: str, read=None, finish: dict | None = None):
        """Flask-Admin's ``get_export_value`` for one column (its column formatter, else the
        attribute; its choice label, else the type formatter) with the column's formatter,
        translated choice labels and type formatters looked up once per export, not for
        every cell: (a function from a model to the value, the column's ``ExportCells``).
        ``read`` replaces the attribute read (an export reads plain rows); ``finish``: see
        ``ExportCells``."""
        formatter = self.column_formatters_export.get(name)
        labels = {key: str(label) for key, label in self._column_choices_map.get(name, {}).items()}
        get = read or (attrgetter(name) if "." not in name else partial(rec_getattr, attr=name))
        if formatter:
            get = lambda model: formatter(self, None, model, name)  # noqa: E731
        if labels:
            attribute = get
            get = lambda model: labels.get(value := attribute(model)) or value  # noqa: E731
        return get, ExportCells(self, name, finish)

    def get_export_value(self, model, name):
        """One typed cell, as an export makes it (an export reads whole batches instead)."""
        get, cells = self._export_reader(name)
        value = get(model)
        make = cells[type(value)]
        return value if make is None else make(value)

    def _export_headers(self) -> list[str]:
        return [str(label) for _name, label in self.export_columns()]

    # Flask-Admin's own writers make every cell text (a CSV comma-separated without a
    # byte-order mark, an XLSX through tablib in a sheet called "Tablib Dataset", held whole
    # in memory) and have no hook for either: these two private methods are replaced.

    def _export_csv(self, return_url):
        locale = str(get_locale())
        _count, rows = self._export_data(spreadsheet.csv_texts(locale))
        chunks = spreadsheet.csv_chunks(self._export_headers(), rows, locale)
        return self._export_response(chunks, "csv", spreadsheet.CSV_MIMETYPE)

    def _export_tablib(self, export_type, return_url):
        if export_type != "xlsx":
            flash(admin_gettext('Export type "%(type)s" is not supported.', type=export_type),
                  "error")  # fmt: skip
            return redirect(return_url)
        _count, rows = self._export_data()
        chunks = spreadsheet.xlsx_chunks(str(self.name), self._export_headers(), rows)
        return self._export_response(chunks, "xlsx", spreadsheet.XLSX_MIMETYPE)

    def _export_response(self, chunks, export_type: str, mimetype: str) -> Response:
        filename = secure_filename(self.get_export_name(export_type))
        return Response(
            stream_with_context(chunks),
            headers={"Content-Disposition": f"attachment;filename={filename}"},
            mimetype=mimetype,
        )


def _after(keys, last: tuple, nulls_high: bool):
    """Rows after ``last`` in the order of ``keys``; NULLs sort where the database puts them
    (PostgreSQL above every value, SQLite below)."""
    clauses, ties = [], []
    for (key, descending), value in zip(keys, last, strict=True):
        nulls_after = nulls_high != descending
        if value is None:
            after = None if nulls_after else key.is_not(None)
            tie = key.is_(None)
        else:
            after = key < value if descending else key > value
            if nulls_after:
                after = or_(after, key.is_(None))
            tie = key == value
        if after is not None:
            clauses.append(and_(*ties, after))
        ties.append(tie)
    return or_(*clauses)


class GuardedIndexView(SameSiteReturn, AdminIndexView):
    """The admin index requires a login like every other page."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and current_user.is_active

    def inaccessible_callback(self, name, **kwargs):
        return deny(name)


class GuardedView(SameSiteReturn, BaseView):
    """A plain Flask-Admin view (documents, dashboard, imports) guarded by ``auth.MATRIX``.

    Reading needs the screen's read level; routes that change data call ``require_write``.
    """

    def is_accessible(self) -> bool:
        return auth.can_read(current_user, self.endpoint)

    def inaccessible_callback(self, name, **kwargs):
        return deny(name)

    def require_write(self) -> None:
        if not auth.can_write(current_user, self.endpoint):
            abort(403)
