"""Forms for enterprise issues; user and unit choices are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm import labels
from crm.models import IssueCategory, IssueStatus
from crm.visits.forms import LocalDateField, optional_int

STEP_DUE_CHOICES = [
    ("", _l("Any deadline")),
    ("overdue", _l("Step overdue")),
    ("week", _l("Step due this week")),
    ("escalated", _l("Escalated")),
]


class IssueForm(FlaskForm):
    category = SelectField(
        _l("Category"), choices=labels.choices(IssueCategory), validators=[DataRequired()]
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What the enterprise asks for, in its own words."),
        render_kw={"rows": 5},
    )
    due_date = LocalDateField(_l("Due date"), validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), coerce=optional_int)
    unit = SelectField(_l("Responsible unit"), coerce=optional_int)


class EditIssueForm(IssueForm):
    version = HiddenField()


class IssueFilterForm(FlaskForm):
    """GET filters of the issue list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[("", _l("Any status")), ("open", _l("Open (not yet resolved)"))]
        + labels.choices(IssueStatus),
        default="",
        validators=[Optional()],
    )
    category = SelectField(
        _l("Category"),
        choices=[("", _l("Any category")), *labels.choices(IssueCategory)],
        default="",
        validators=[Optional()],
    )
    overdue = BooleanField(_l("Overdue only"))
    step_due = SelectField(
        _l("Step deadline"),
        choices=STEP_DUE_CHOICES,
        default="",
        validators=[Optional()],
    )


class TransitionForm(FlaskForm):
    """One step of the workflow (accept, start, resolve, close) as a small POST form."""

    action = HiddenField(validators=[DataRequired(message=_l("Choose a step."))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()


class CallbackForm(FlaskForm):
    """The enterprise's verdict on the resolution (回访)."""

    satisfaction = SelectField(
        _l("Satisfaction"),
        choices=[
            ("", "—"),
            ("5", _l("5 — very satisfied")),
            ("4", _l("4 — satisfied")),
            ("3", _l("3 — acceptable")),
            ("2", _l("2 — unsatisfied (reopens the issue)")),
            ("1", _l("1 — very unsatisfied (reopens the issue)")),
        ],
        validators=[DataRequired()],
    )
    comment = TextAreaField(
        _l("The enterprise's comment"),
        validators=[Optional(), Length(max=5000)],
        render_kw={"rows": 4},
    )
    version = HiddenField()


class ReassignForm(FlaskForm):
    assignee = SelectField(_l("Assigned to"), coerce=optional_int)
    unit = SelectField(_l("Responsible unit"), coerce=optional_int)
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 3}
    )
    version = HiddenField()


class IssueRuleForm(FlaskForm):
    """One category's deadlines, in minutes."""

    category = HiddenField(validators=[DataRequired()])
    respond_minutes = IntegerField(
        _l("Respond within (minutes)"), validators=[InputRequired(), NumberRange(min=1)]
    )
    solution_minutes = IntegerField(
        _l("Propose a solution within (minutes)"), validators=[InputRequired(), NumberRange(min=1)]
    )
    close_minutes = IntegerField(
        _l("Resolve within (minutes)"), validators=[InputRequired(), NumberRange(min=1)]
    )
    version = HiddenField()


class FiguresPeriodForm(FlaskForm):
    """The period of the figures page: [start, end] as local days (no CSRF: GET)."""

    class Meta:
        csrf = False

    start = LocalDateField(_l("From"), validators=[Optional()])
    end = LocalDateField(_l("To"), validators=[Optional()])
