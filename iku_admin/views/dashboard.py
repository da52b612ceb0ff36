"""The Mutu Baku dashboard and the SOP evaluation form.

The numbers come from ``mutu``; this module reads the filters, draws the charts and renders
the pages. The evaluation form stores nothing: the edited form is rendered for print (HTML)
or as a PDF.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request
from flask_admin import Admin, expose
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import (
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from models import Procedure, utcnow
from models.validation import format_nip, nip_error

from .. import charts, documents, mutu
from ..calendar import WorkingCalendar
from ..extensions import db
from ..i18n import FormTranslations, _, _l, fmt_number
from ..letterhead import document_agency
from ..numbers import LocaleIntegerField
from .base import GuardedView
from .fields import DateField, in_date_range

YEAR_RANGE = NumberRange(2000, 2100)
HALVES = [("1", _l("Semester 1 (January–June)")), ("2", _l("Semester 2 (July–December)"))]
ASSESSMENTS = [("", _l("Not assessed")), ("good", _l("Runs well")),
               ("poor", _l("Does not run well"))]  # fmt: skip


class TranslatedMeta:
    """WTForms' own messages (e.g. "Not a valid integer value.") from our catalog."""

    def get_translations(self, form):
        return FormTranslations()


class QueryForm(FlaskForm):
    """A form read from the query string: it changes nothing, so it needs no CSRF token."""

    class Meta(TranslatedMeta):
        csrf = False


class ProcedureForm(QueryForm):
    """The SOP measured: one procedure at a time, the default one unless chosen."""

    sop = SelectField(_l("SOP"), choices=[], coerce=int, validate_choice=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        procedures = db.session.scalars(select(Procedure).order_by(*Procedure.ordered())).all()
        self.sop.choices = [(p.id, p.name) for p in procedures]
        if not procedures:
            self.sop.validate_choice = False  # nothing to measure yet
        elif self.sop.raw_data in (None, [], [""]):
            self.sop.data = procedures[0].id


class FilterForm(ProcedureForm):
    year = LocaleIntegerField(_l("Year"), validators=[Optional(), YEAR_RANGE])
    period = SelectField(_l("IKU period"), choices=[], default="")


class HalfYearForm(ProcedureForm):
    year = LocaleIntegerField(_l("Year"), validators=[YEAR_RANGE])
    semester = SelectField(_l("Half-year"), choices=HALVES)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _digits(value: str | None) -> str:
    return (value or "").replace(" ", "")


class StepEvaluationForm(Form):
    """One procedure row of the evaluation form."""

    Meta = TranslatedMeta
    position = LocaleIntegerField(widget=HiddenInput(), validators=[InputRequired()])
    assessment = RadioField(_l("Assessment"), choices=ASSESSMENTS, default="")
    note = TextAreaField(_l("Notes on the assessment"), [Length(max=1000)], filters=[_text])
    action = TextAreaField(_l("Action to be taken"), [Length(max=1000)], filters=[_text])
    initials = StringField(_l("Assessor's initials"), [Length(max=50)], filters=[_text])


class EvaluationForm(FlaskForm):
    class Meta(TranslatedMeta):
        pass

    assessor = StringField(_l("Assessor"), [Length(max=150)], filters=[_text])
    assessor_nip = StringField(_l("Assessor's NIP"), [Length(max=30)], filters=[_digits])
    assessor_rank = StringField(_l("Assessor's rank"), [Length(max=100)], filters=[_text])
    assessed_on = DateField(_l("Date of assessment"), validators=[InputRequired(), in_date_range])
    steps = FieldList(FormField(StepEvaluationForm), max_entries=100)
    html = SubmitField(_l("Print view"))
    pdf = SubmitField(_l("Download PDF"))

    #: The step positions of the SOP the form is for; set by the view before validating.
    positions: list[int] = []

    def validate_assessor_nip(self, field):
        error = nip_error(field.data)
        if error:
            raise ValidationError(_(error))

    def validate_steps(self, field):
        if [entry.position.data for entry in field] != self.positions:
            raise ValidationError(
                _("The SOP steps have changed since this form was opened. Open it again.")
            )


def _assessor() -> dict[str, str]:
    """The form's assessor fields, prefilled with the signed-in official."""
    return {"assessor": current_user.full_name, "assessor_nip": current_user.nip or "",
            "assessor_rank": current_user.rank}  # fmt: skip


def _today():
    return datetime.now(ZoneInfo(current_app.config["IKU_TIMEZONE"])).date()


def _percent(value: float) -> str:
    return f"{fmt_number(value)}%"


def _charts(data: mutu.Dashboard) -> dict[str, Markup]:
    """Every chart of the dashboard, as inline SVG."""
    empty = _("No data for this selection.")
    finished = [s for s in data.steps if s.finished]
    workload = charts.Legend(_("Open steps waiting"), _("Steps finished"))

    def label(step: mutu.StepStats) -> str:
        return f"{step.position}. {step.activity}"

    return {
        "open": charts.bar_chart(
            [charts.Bar(str(s.position), s.open) for s in data.steps],
            title=_("Dossiers now at each step"), empty=empty, fmt=fmt_number,
        ),
        "time": charts.hbar_chart(
            [charts.HBar(label(s), s.median, s.p90, s.standard_minutes,
                         alert=s.median > s.standard_minutes) for s in finished],
            title=_("Working minutes per step"), empty=empty, fmt=fmt_number,
            legend=charts.Legend(_("Median"), _("90th percentile"), _("Standard time"),
                                 _("Median over the standard")),
        ),
        "share": charts.hbar_chart(
            [charts.HBar(label(s), round(s.share * 100), marker=mutu.GOOD_SHARE * 100,
                         alert=s.share < mutu.GOOD_SHARE) for s in finished],
            title=_("Share finished within the standard"), empty=empty, fmt=_percent, scale=100,
            legend=charts.Legend(_("Finished within the standard"),
                                 marker=_("Runs-well threshold"), over=_("Below the threshold")),
        ),
        "revisions": charts.bar_chart(
            [charts.Bar(str(rounds), count) for rounds, count in data.revisions],
            title=_("Dossiers by number of revision rounds"), empty=empty, fmt=fmt_number,
        ),
        "roles": charts.hbar_chart(
            [charts.HBar(w.name, w.waiting, w.finished) for w in data.roles],
            title=_("Workload per role"), legend=workload, empty=empty, fmt=fmt_number,
        ),
        "people": charts.hbar_chart(
            [charts.HBar(w.name, w.waiting, w.finished) for w in data.people],
            title=_("Workload per person"), legend=workload, empty=empty, fmt=fmt_number,
        ),
        "cycles": charts.hbar_chart(
            [charts.HBar(f"#{c.id} {c.title}", c.minutes, marker=c.standard,
                         alert=c.minutes > c.standard) for c in data.cycles.latest],
            title=_("Cycle time of the latest finished dossiers"), empty=empty, fmt=fmt_number,
            legend=charts.Legend(_("Working minutes"), marker=_("SOP total"),
                                 over=_("Over the SOP total")),
        ),
    }  # fmt: skip


class DashboardView(GuardedView):
    """Mutu Baku: where dossiers wait, who is late, and whether the SOP is realistic."""

    @property
    def tz(self) -> str:
        return current_app.config["IKU_TIMEZONE"]

    @expose("/")
    def index(self):
        form = FilterForm(request.args)
        periods = mutu.periods(db.session, form.sop.data)  # of the SOP measured
        form.period.choices = [("", _("All periods"))] + [
            (f"{start}-{end}", f"{start}–{end}") for start, end in periods
        ]
        if not form.validate():
            return self.render("dashboard/index.html", form=form, data=None), 400
        period = tuple(map(int, form.period.data.split("-"))) if form.period.data else None
        scope = mutu.Scope.of(form.year.data, period=period, tz=self.tz, procedure=form.sop.data)
        data = mutu.dashboard(db.session, scope, WorkingCalendar.from_session(db.session, self.tz))
        return self.render("dashboard/index.html", form=form, data=data, charts=_charts(data))

    @expose("/evaluation/", methods=("GET", "POST"))
    def evaluation_view(self):
        year, half = mutu.current_half(_today())
        choice = HalfYearForm(request.args, year=year, semester=str(half))
        if not choice.validate():
            return self.render("dashboard/evaluation.html", choice=choice, form=None), 400
        year, half = choice.year.data, int(choice.semester.data)
        scope = mutu.Scope.of(year, half, tz=self.tz, procedure=choice.sop.data)
        sop, rows = mutu.evaluation(db.session, scope)
        page = {"choice": choice, "sop": sop, "rows": rows, "year": year, "half": half,
                "procedure": choice.sop.data,
                "overdue": mutu.overdue_by_step(db.session, utcnow(), scope)}  # fmt: skip
        if request.method == "GET":
            form = EvaluationForm(data={"assessed_on": _today(), **_assessor(), "steps": [
                {"position": r.position, "note": r.note, "action": r.action,
                 "assessment": {True: "good", False: "poor", None: ""}[r.runs_well]}
                for r in rows
            ]})  # fmt: skip
            return self.render("dashboard/evaluation.html", form=form, **page)
        form = EvaluationForm()
        form.positions = [row.position for row in rows]
        if not form.validate():
            return self.render("dashboard/evaluation.html", form=form, **page), 422
        document = render_template(
            "dashboard/evaluation_print.html",
            form=form, entries=list(zip(rows, form.steps, strict=True)),
            assessments=dict(ASSESSMENTS), nip=format_nip(form.assessor_nip.data),
            half_label=dict(HALVES)[str(half)], letterhead=document_agency(db.session), **page,
        )  # fmt: skip
        if not form.pdf.data:
            return document
        filename = f"evaluasi-sop-{year}-s{half}.pdf"
        return Response(
            documents.render_pdf(document),
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def register(admin: Admin) -> None:
    """Add this module's screens to the admin."""
    admin.add_view(DashboardView(name=_l("Quality dashboard"), endpoint="dashboard"))
