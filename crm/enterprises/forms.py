"""Forms of the enterprise register: the search filters and the enterprise form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm import labels

NONE_CHOICE = (0, "—")


def _year_field(label):
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(min=1990, max=2100)],
        description=_l("The list year; leave empty if the enterprise is not on the list."),
    )


class EnterpriseForm(FlaskForm):
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("18 characters, as printed on the business licence."),
    )
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=300)])
    region = StringField(
        _l("Headquarters region"),
        validators=[Optional(), Length(max=100)],
        description=_l("e.g. 广东省深圳市"),
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    industry = SelectField(_l("Industry"), coerce=int, choices=[NONE_CHOICE], default=0)
    fortune_global_500_year = _year_field(_l("Fortune Global 500 (list year)"))
    china_top_500_year = _year_field(_l("China Top 500 (list year)"))
    china_private_500_year = _year_field(_l("China Private Top 500 (list year)"))
    is_listed = BooleanField(_l("Listed company"))
    is_foreign_invested = BooleanField(_l("Foreign-invested"))
    is_settled = BooleanField(_l("Settled here"))
    is_reinvesting = BooleanField(_l("Reinvesting"))
    chamber = SelectField(_l("Chamber of commerce"), coerce=int, choices=[NONE_CHOICE], default=0)
    responsible = SelectField(_l("Responsible staff"), coerce=int, choices=[NONE_CHOICE])
    units = SelectMultipleField(
        _l("Units"),
        coerce=int,
        choices=[],
        description=_l("The county teams, task forces or offices that look after this enterprise."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()
    confirm_similar = BooleanField(_l("Register anyway: this is a different enterprise"))

    def set_choices(self, *, industries, chambers, people, units) -> None:
        self.industry.choices = [NONE_CHOICE] + [(i.id, i.name) for i in industries]
        self.chamber.choices = [NONE_CHOICE] + [(c.id, c.name) for c in chambers]
        self.responsible.choices = [(u.id, u.name) for u in people] or [NONE_CHOICE]
        self.units.choices = [(u.id, unit_label(u)) for u in units]


def unit_label(unit) -> str:
    """Indented by depth so the tree reads in a flat select."""
    return "\u3000" * unit.depth + unit.name


TAG_CHOICES = [("", _l("Any tag"))] + [(key, text) for key, text in labels.TAG.items()]


class SearchForm(FlaskForm):
    """GET filters of the register; no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search"),
        validators=[Optional(), Length(max=100)],
        description=_l("Part of the name, pinyin or initials, English name or credit code"),
    )
    tag = SelectField(_l("Tag"), choices=TAG_CHOICES, validators=[Optional()])
    unit = SelectField(_l("Unit"), coerce=int, choices=[(0, _l("Any unit"))])
    responsible = SelectField(_l("Responsible staff"), coerce=int, choices=[(0, _l("Anyone"))])
    industry = SelectField(_l("Industry"), coerce=int, choices=[(0, _l("Any industry"))])

    def set_choices(self, *, industries, people, units) -> None:
        self.unit.choices = [(0, _l("Any unit"))] + [(u.id, unit_label(u)) for u in units]
        self.responsible.choices = [(0, _l("Anyone"))] + [(u.id, u.name) for u in people]
        self.industry.choices = [(0, _l("Any industry"))] + [(i.id, i.name) for i in industries]
