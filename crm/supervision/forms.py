"""Forms for supervision items and on-site checks; project, issue, unit and owner choices
are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm import labels
from crm.models import STAGE_LADDER, CheckOutcome, SupervisionStatus
from crm.visits.forms import LocalDateField, optional_int

DUE_CHOICES = [
    ("", _l("Any due date")),
    ("overdue", _l("Overdue")),
    ("week", _l("Due this week")),
]


def _stage_choices() -> list[tuple[str, str]]:
    # Reserve is where projects start: no item asks a project to reach it.
    return [("", "—")] + [(s.value, labels.PROJECT_STAGE[s]) for s in STAGE_LADDER[1:]]


class ItemForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("What must happen, e.g. “start construction of phase II”."),
    )
    target_stage = SelectField(
        _l("Target stage"),
        choices=_stage_choices(),
        default="",
        validators=[Optional()],
        description=_l("For a project: the stage it must reach by the due date."),
    )
    due_date = LocalDateField(_l("Due date"), validators=[DataRequired()])
    unit = SelectField(_l("Responsible unit"), coerce=optional_int, validators=[DataRequired()])
    owner = SelectField(_l("Owner"), coerce=optional_int, validators=[Optional()])
    note = TextAreaField(
        _l("Note"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 4}
    )


class NewItemForm(ItemForm):
    project = SelectField(_l("Project"), coerce=optional_int, validators=[Optional()])
    issue = SelectField(_l("Enterprise issue"), coerce=optional_int, validators=[Optional()])


class EditItemForm(ItemForm):
    version = HiddenField()


class VersionForm(FlaskForm):
    """A POST button (mark done) carrying the version the page was rendered with."""

    version = HiddenField()


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3}
    )
    version = HiddenField()


class CheckForm(FlaskForm):
    checked_on = LocalDateField(_l("Day of the check"), validators=[DataRequired()])
    outcome = SelectField(
        _l("Outcome"),
        choices=[("", "—"), *labels.choices(CheckOutcome)],
        validators=[DataRequired()],
    )
    findings = TextAreaField(
        _l("Findings"),
        validators=[DataRequired(), Length(max=20000)],
        render_kw={"rows": 5},
        description=_l("What was seen on site: progress, problems, who was met."),
    )
    photos = MultipleFileField(_l("Photos"), render_kw={"accept": "image/*", "multiple": True})


class ItemFilterForm(FlaskForm):
    """GET filters of the supervision list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[("", _l("Any status")), *labels.choices(SupervisionStatus)],
        default="",
        validators=[Optional()],
    )
    due = SelectField(_l("Due"), choices=DUE_CHOICES, default="", validators=[Optional()])
    unit = SelectField(_l("Responsible unit"), coerce=optional_int, validators=[Optional()])
    escalated = BooleanField(_l("Escalated only"))
