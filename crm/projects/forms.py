"""Forms of the project pages; unit, industry and stage choices are filled in by the view.

Amounts are typed in 万元 and kept as exact ``Decimal`` values from the request to the
database: ``AmountField`` parses the text itself (never through a float) and refuses
anything that is not a plain number with at most four decimal places (one yuan).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, MonthInput, TextInput

from crm import labels
from crm.models import PUBLIC_FIELDS, AttractionChannel, FundsSource, OutboundRole, ProjectStage
from crm.visits.forms import LocalDateField, optional_int

PLACES = Decimal("0.0001")
# A plain number: optional minus, digits, optional decimals (no exponent, no NaN/Infinity).
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
# More integer digits than this is a typing mistake (the services cap amounts far lower).
_MAX_INTEGER_DIGITS = 15

NONE = ("", "—")

# What a public field is called on the form (the opportunity list's vocabulary).
PUBLIC_FIELD_LABELS = {
    "industry": labels.FIELD["industry"],
    "county": labels.FIELD["county"],
    "park": labels.FIELD["park"],
    "contract_amount": labels.FIELD["contract_amount_wan"],
    "description": labels.FIELD["description"],
}


def plain_decimal(value: Decimal | None) -> str:
    """12345.6789 as typed; 50000.0000 (as stored) as 50000."""
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


class AmountField(DecimalField):
    """An amount (万元, or 万美元 for FDI) kept exact: at most four decimal places.

    Full-width digits typed with a Chinese input method and thousands separators
    are accepted; everything else that is not a plain number is refused with a
    message naming the field. Negative numbers pass here: the service decides
    where they are allowed (corrections of funds in place).
    """

    # Text, not type=number: the browser must not round, localise or silently drop what was typed.
    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, places=None, render_kw=render_kw, **kwargs)

    def _value(self):
        if self.raw_data is not None and self.raw_data:
            return self.raw_data[0]
        return plain_decimal(self.data)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = unicodedata.normalize("NFKC", valuelist[0] or "")
        text = re.sub(r"[\s,]", "", text)
        if not text:
            self.data = None
            return
        self.data = None
        if not _NUMBER.fullmatch(text):
            raise ValueError(_("%(field)s: enter a number, e.g. 1200.5.", field=self.label.text))
        whole, _dot, decimals = text.lstrip("-").partition(".")
        if len(decimals.rstrip("0")) > 4:
            raise ValueError(
                _(
                    "%(field)s: at most four decimal places (1 yuan = 0.0001 万元).",
                    field=self.label.text,
                )
            )
        if len(whole.lstrip("0")) > _MAX_INTEGER_DIGITS:
            raise ValueError(_("%(field)s: the amount is too large.", field=self.label.text))
        self.data = Decimal(text).quantize(PLACES)


class MonthField(DateField):
    """``<input type="month">`` (2024-05), kept as the first day of the month."""

    widget = MonthInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m", **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%Y-%m") if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        text = unicodedata.normalize("NFKC", valuelist[0]).strip()
        match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?", text)
        self.data = None
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12 and year >= 1900:
                self.data = date(year, month, 1)
                return
        raise ValueError(_l("Enter a month, e.g. 2024-05."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _amount(field: str, **kwargs) -> AmountField:
    return AmountField(labels.FIELD[field], validators=[Optional()], **kwargs)


class ProjectForm(FlaskForm):
    name = StringField(labels.FIELD["name"], validators=[DataRequired(), Length(max=200)])
    name_en = StringField(labels.FIELD["name_en"], validators=[Optional(), Length(max=300)])
    industry = SelectField(labels.FIELD["industry"], coerce=optional_int)
    county = SelectField(labels.FIELD["county"], coerce=optional_int)
    park = SelectField(labels.FIELD["park"], coerce=optional_int)
    task_force = SelectField(labels.FIELD["task_force"], coerce=optional_int)
    channel = SelectField(
        labels.FIELD["channel"],
        choices=[NONE, *labels.choices(AttractionChannel)],
        default="",
        validators=[Optional()],
    )
    outbound_office = SelectField(labels.FIELD["outbound_office"], coerce=optional_int)
    outbound_role = SelectField(
        labels.FIELD["outbound_role"],
        choices=[NONE, *labels.choices(OutboundRole)],
        default="",
        validators=[Optional()],
    )
    contract_amount_wan = _amount(
        "contract_amount_wan",
        description=_l("In 万元 (1 亿元 = 10,000 万元). A key project has 10 亿元 or more."),
    )
    fdi_usd_wan = _amount("fdi_usd_wan")
    is_out_of_province = BooleanField(labels.FIELD["is_out_of_province"])
    is_reinvestment = BooleanField(labels.FIELD["is_reinvestment"])
    platform_number = StringField(
        labels.FIELD["platform_number"],
        validators=[Optional(), Length(max=64)],
        description=_l("The number on the city's project platform, when there is one."),
    )
    committed_investment_wan = _amount("committed_investment_wan")
    committed_output_wan = _amount("committed_output_wan")
    committed_tax_wan = _amount("committed_tax_wan")
    committed_jobs = IntegerField(
        labels.FIELD["committed_jobs"], validators=[Optional(), NumberRange(min=0)]
    )
    planned_start_on = LocalDateField(labels.FIELD["planned_start_on"], validators=[Optional()])
    description = TextAreaField(
        labels.FIELD["description"],
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 4},
    )
    description_en = TextAreaField(
        labels.FIELD["description_en"],
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 3},
    )
    is_promoted = BooleanField(
        labels.FIELD["is_promoted"],
        description=_l(
            "Reserve projects only: shown without sign-in on the public opportunity list."
        ),
    )
    public_fields = MultiCheckboxField(
        labels.FIELD["public_fields"],
        choices=[(key, PUBLIC_FIELD_LABELS[key]) for key in PUBLIC_FIELDS],
        validators=[Optional()],
    )

    def set_choices(self, *, industries, units_by_field) -> None:
        self.industry.choices = [NONE] + [(i.id, i.name) for i in industries]
        for name, units in units_by_field.items():
            self[name].choices = [NONE] + [(u.id, u.name) for u in units]


class NewProjectForm(ProjectForm):
    stage = SelectField(
        labels.FIELD["stage"],
        choices=[
            (s.value, labels.PROJECT_STAGE[s]) for s in ProjectStage if s != ProjectStage.TERMINATED
        ],
        default=ProjectStage.RESERVE.value,
        validators=[DataRequired()],
    )
    stage_on = LocalDateField(
        _l("In this stage since"),
        validators=[InputRequired()],
        description=_l("May be in the past, e.g. the signing date of a signed contract."),
    )


class EditProjectForm(ProjectForm):
    version = HiddenField()


class StageForm(FlaskForm):
    to_stage = SelectField(
        _l("New stage"), choices=labels.choices(ProjectStage), validators=[DataRequired()]
    )
    effective_on = LocalDateField(
        _l("Effective date"),
        validators=[InputRequired()],
        description=_l("The day the project reached the stage; may be in the past."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=5000)],
        description=_l("Required when the move skips or reverses stages, or ends the project."),
        render_kw={"rows": 3},
    )
    version = HiddenField()


class FundsForm(FlaskForm):
    month = MonthField(labels.FIELD["month"], validators=[InputRequired()])
    source = SelectField(
        labels.FIELD["source"], choices=labels.choices(FundsSource), validators=[DataRequired()]
    )
    amount_wan = AmountField(labels.FIELD["amount_wan"], validators=[Optional()])
    note = TextAreaField(
        _l("Note"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 2}
    )


class ProjectFilterForm(FlaskForm):
    """GET filters of the project list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=100)])
    stage = SelectField(
        _l("Stage"),
        choices=[("", _l("Any stage")), *labels.choices(ProjectStage)],
        default="",
        validators=[Optional()],
    )
    county = SelectField(labels.FIELD["county"], coerce=optional_int, validators=[Optional()])
    task_force = SelectField(
        labels.FIELD["task_force"], coerce=optional_int, validators=[Optional()]
    )
    key = BooleanField(_l("Key projects only"))
    stalled = BooleanField(_l("Stalled only"))

    def set_choices(self, *, counties, task_forces) -> None:
        anyone = ("", _l("Any"))
        self.county.choices = [anyone] + [(u.id, u.name) for u in counties]
        self.task_force.choices = [anyone] + [(u.id, u.name) for u in task_forces]
