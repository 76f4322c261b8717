"""Forms of the monthly ranking."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional


class PublishForm(FlaskForm):
    note = TextAreaField(
        _l("Note (optional)"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Printed under the title, e.g. what this month's report covers."),
        render_kw={"rows": 2},
    )


class YearForm(FlaskForm):
    """The year picker (GET, no CSRF)."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=2000, max=2100)])
