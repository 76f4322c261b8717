"""The dashboard's GET selector: period (year, month) and unit. Choices are filled by the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from crm.visits.forms import optional_int


class DashboardForm(FlaskForm):
    """GET parameters of the dashboards (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    year = SelectField(_l("Year"), coerce=int)
    month = SelectField(_l("Month"), coerce=int)
    unit = SelectField(_l("Unit"), coerce=optional_int)
