"""Forms for enterprise issues; user and unit choices are filled in by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm import labels
from crm.models import IssueCategory, IssueStatus
from crm.visits.forms import LocalDateField, optional_int


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
