from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from crm.routing import MAX_ID

# How long before a due date the first reminder comes, in minutes.
BEFORE_CHOICES = [
    (0, _l("No reminder before; only when due")),
    (60, _l("1 hour before")),
    (4 * 60, _l("4 hours before")),
    (24 * 60, _l("1 day before")),
    (2 * 24 * 60, _l("2 days before")),
    (3 * 24 * 60, _l("3 days before")),
    (7 * 24 * 60, _l("1 week before")),
]


class ReminderPreferencesForm(FlaskForm):
    remind_before_minutes = SelectField(
        _l("First reminder"), choices=BEFORE_CHOICES, coerce=int, validators=[InputRequired()]
    )
    reminder_digest = BooleanField(_l("Send me one daily digest instead of single mails"))
    digest_hour = IntegerField(
        _l("Digest hour (0–23, local time)"),
        validators=[InputRequired(), NumberRange(min=0, max=23)],
    )
    version = HiddenField()


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("What the token is for, e.g. the city platform's import."),
    )


class RevokeApiTokenForm(FlaskForm):
    token_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
