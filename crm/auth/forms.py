from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))
    next = HiddenField()


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("zh_CN", "中文"), ("en", "English")])


class LogoutForm(FlaskForm):
    pass
