from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from crm.contacts.services import MAX_LENGTHS, is_plausible_phone

NOBODY = 0


def _plausible_phone(_form, field) -> None:
    if field.data and field.data.strip() and not is_plausible_phone(field.data.strip()):
        raise ValidationError(
            _l("Enter a phone number: digits, spaces, +, - and parentheses only.")
        )


class ContactForm(FlaskForm):
    name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(message=_l("Enter the contact's name.")),
            Length(max=MAX_LENGTHS["name"]),
        ],
    )
    title = StringField(_l("Job title"), validators=[Optional(), Length(max=MAX_LENGTHS["title"])])
    phone = StringField(
        _l("Phone"),
        validators=[Optional(), Length(max=MAX_LENGTHS["phone"]), _plausible_phone],
        render_kw={"inputmode": "tel"},
    )
    email = EmailField(
        _l("Email"),
        validators=[
            Optional(),
            Length(max=MAX_LENGTHS["email"]),
            Email(message=_l("Enter a valid email address."), check_deliverability=False),
        ],
    )
    wechat = StringField(_l("WeChat"), validators=[Optional(), Length(max=MAX_LENGTHS["wechat"])])
    is_main = BooleanField(
        _l("Main contact"),
        description=_l("The enterprise's previous main contact stops being it."),
    )
    known_by_id = SelectField(
        _l("Known by"),
        coerce=int,
        description=_l("The staff member who knows this person."),
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=MAX_LENGTHS["notes"])],
        render_kw={"rows": 3},
    )
    version = HiddenField()

    def set_known_by_choices(self, users) -> None:
        self.known_by_id.choices = [(NOBODY, _l("— nobody in particular —"))] + [
            (user.id, user.name) for user in users
        ]


class DeleteForm(FlaskForm):
    version = HiddenField()
