from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm import labels
from crm.models import Role, UnitKind

LANGUAGE_CHOICES = [("zh_CN", "中文"), ("en", "English")]


def _int_or_zero(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class UserForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=labels.choices(Role), default=Role.STAFF.value)
    units = SelectMultipleField(
        _l("Units"),
        coerce=int,
        choices=[],
        description=_l("At least one, except for administrators and leaders."),
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="zh_CN")
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])


class UserCreateForm(UserForm):
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional(), Length(max=200)],
        description=_l("Leave empty to generate one; it is shown once."),
    )


class UserEditForm(UserForm):
    active = BooleanField(_l("Active (may sign in)"))
    version = HiddenField()


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[Optional(), Length(max=200)],
        description=_l("Leave empty to generate one; it is shown once."),
    )


class UnitForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Type"), choices=labels.choices(UnitKind))
    parent_id = SelectField(_l("Parent unit"), coerce=_int_or_zero, choices=[])
    sort_order = IntegerField(_l("Sort order"), validators=[Optional()], default=0)


class UnitEditForm(UnitForm):
    is_active = BooleanField(_l("Active"))
    version = HiddenField()


class ReferenceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=200)])
    sort_order = IntegerField(_l("Sort order"), validators=[Optional()], default=0)
    is_active = BooleanField(_l("Active"), default=True)


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""
