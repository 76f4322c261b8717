"""Forms for visits and follow-ups; choices are filled in by the view."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from crm import labels
from crm.models import Flag, FollowUpStatus, VisitKind


class LocalDateField(DateField):
    """A date field whose error says what to type (phones may fall back to a text box)."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=["%Y-%m-%d", "%Y/%m/%d"], **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        for fmt in self.format:
            try:
                self.data = datetime.strptime(text, fmt).date()
                return
            except ValueError:
                continue
        self.data = None
        raise ValueError(_l("Enter a valid date, e.g. 2024-05-31."))


def optional_int(value):
    """Coerce for selects whose first choice is "none" (an empty value)."""
    if value in (None, "", "None"):
        return None
    return int(value)


class VisitForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=labels.choices(VisitKind), validators=[DataRequired()])
    visit_date = LocalDateField(_l("Date"), validators=[InputRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    participants = SelectMultipleField(
        _l("Who went"),
        coerce=int,
        description=_l("Hold Ctrl (or Cmd) to choose several people."),
        render_kw={"size": 6},
    )
    contacts_met = SelectMultipleField(_l("Contacts met"), coerce=int, render_kw={"size": 4})
    summary = TextAreaField(
        _l("Summary"),
        validators=[DataRequired(), Length(max=20000)],
        description=_l("What was said and agreed."),
        render_kw={"rows": 5},
    )
    concerns = TextAreaField(
        _l("Concerns raised"),
        validators=[Optional(), Length(max=20000)],
        description=_l("What the enterprise is worried about or asks for."),
        render_kw={"rows": 3},
    )
    flag = SelectField(_l("Flag"), choices=labels.choices(Flag), default=Flag.NONE.value)


class NewVisitForm(VisitForm):
    next_step_title = StringField(
        _l("What is to be done"),
        validators=[Optional(), Length(max=300)],
        description=_l("Optional: becomes a follow-up with a due date."),
    )
    next_step_due = LocalDateField(_l("Next step due date"), validators=[Optional()])
    # Left empty, the owner is whoever logs the visit; the service checks the user.
    next_step_owner = SelectField(_l("Next step owner"), coerce=optional_int, validate_choice=False)


class EditVisitForm(VisitForm):
    version = HiddenField()


class ActionForm(FlaskForm):
    """An empty form: a POST button (delete, mark done) carrying only the CSRF token."""


class FollowUpFilterForm(FlaskForm):
    """GET filters of the follow-ups page (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    who = SelectField(
        _l("Whose"),
        choices=[("mine", _l("Mine")), ("all", _l("All in my scope"))],
        default="mine",
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=labels.choices(FollowUpStatus),
        default=FollowUpStatus.OPEN.value,
        validators=[Optional()],
    )
    overdue = BooleanField(_l("Overdue only"))  # kept for links made before ``due``
    due = SelectField(
        _l("Due"),
        choices=[
            ("", _l("Any due date")),
            ("overdue", _l("Overdue")),
            ("week", _l("Due by the end of this week")),
            ("escalated", _l("Escalated")),
        ],
        default="",
        validators=[Optional()],
    )
