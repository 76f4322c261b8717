"""Forms of the targets admin: the yearly targets grid, counting rules, stall thresholds.

The grids are FieldLists of small row forms (one per unit). Each cell checks
what was typed and keeps it on error, so a refused grid comes back as typed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import NumberRange, Optional

from crm.labels import PROJECT_STAGE
from crm.models import ProjectStage
from crm.projects.services import MAX_AMOUNT_WAN

# Labels shared with the monthly ranking's columns (one msgid each).
NEW_PROJECTS = _l("New signed projects")
CONTRACT_AMOUNT = _l("Contract amount (万元)")
OUT_OF_PROVINCE_FUNDS = _l("Out-of-province funds in place (万元)")

MAX_PROJECTS = 100_000
MAX_STALL_DAYS = 3650


class _TextNumber(StringField):
    """A number typed as text: empty is None; what was typed is shown again on error."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else self.format(self.data)

    def format(self, value) -> str:
        return str(value)

    def parse(self, text: str):
        raise NotImplementedError

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip().replace(",", "").replace("，", "")
        if not text:
            self.data = None
            return
        self.data = None
        self.data = self.parse(text)


class AmountText(_TextNumber):
    """万元: not negative, at most four decimal places (one yuan), not absurdly large."""

    def format(self, value) -> str:
        value = Decimal(value)
        return (
            f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")
        )

    def parse(self, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(_l("Enter the amount as a number.")) from None
        if not value.is_finite():
            raise ValueError(_l("Enter the amount as a number."))
        if value < 0:
            raise ValueError(_l("The amount cannot be negative."))
        if value != value.quantize(Decimal("0.0001")):
            raise ValueError(_l("Amounts in 万元 have at most four decimal places."))
        if value > MAX_AMOUNT_WAN:
            raise ValueError(_l("The amount is too large."))
        return value


class WholeNumberText(_TextNumber):
    """A count: a whole number from 0 to ``maximum``."""

    def __init__(self, label=None, validators=None, *, minimum: int = 0, maximum: int, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, text: str) -> int:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_l("Enter a whole number.")) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(_l("Enter a whole number."))
        if number < 0:
            raise ValueError(_l("The number cannot be negative."))
        value = int(number)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(
                _l(
                    "Enter a number from %(low)s to %(high)s.",
                    low=self.minimum,
                    high=self.maximum,
                )
            )
        return value


# -- yearly targets ------------------------------------------------------------------
class TargetRowForm(Form):
    unit_id = HiddenField()
    version = HiddenField()
    new_projects = WholeNumberText(NEW_PROJECTS, maximum=MAX_PROJECTS)
    contract_amount_wan = AmountText(CONTRACT_AMOUNT)
    out_of_province_funds_wan = AmountText(OUT_OF_PROVINCE_FUNDS)


class TargetsForm(FlaskForm):
    rows = FieldList(FormField(TargetRowForm))


# -- counting rules ------------------------------------------------------------------
class CountingRuleForm(FlaskForm):
    min_contract_amount_wan = AmountText(
        _l("Minimum contract amount (万元)"),
        description=_l("Signed projects below this amount do not count. Empty: all count."),
    )
    excluded_industries = SelectMultipleField(
        _l("Excluded industries"),
        coerce=int,
        choices=[],
        description=_l("Projects of these industries do not count (e.g. real estate)."),
        render_kw={"size": 8},
    )
    count_terminated = BooleanField(
        _l("Terminated projects still count as signed"),
        default=True,
    )
    landing_rate_goal_pct = IntegerField(
        _l("Landing rate goal (percent)"),
        validators=[Optional(), NumberRange(min=0, max=100)],
        description=_l("Yibin 2023: 70."),
    )
    start_rate_goal_pct = IntegerField(
        _l("Start rate goal (percent)"),
        validators=[Optional(), NumberRange(min=0, max=100)],
        description=_l("Yibin 2023: 35."),
    )
    version = HiddenField()


# -- stall thresholds ----------------------------------------------------------------
class ThresholdRowForm(Form):
    """Days per stage for the city (unit_id empty: every day required) or one county."""

    unit_id = HiddenField()
    negotiation = WholeNumberText(
        PROJECT_STAGE[ProjectStage.NEGOTIATION], minimum=1, maximum=MAX_STALL_DAYS
    )
    signed = WholeNumberText(PROJECT_STAGE[ProjectStage.SIGNED], minimum=1, maximum=MAX_STALL_DAYS)
    landed = WholeNumberText(PROJECT_STAGE[ProjectStage.LANDED], minimum=1, maximum=MAX_STALL_DAYS)


class ThresholdsForm(FlaskForm):
    rows = FieldList(FormField(ThresholdRowForm))


__all__ = [
    "CountingRuleForm",
    "TargetRowForm",
    "TargetsForm",
    "ThresholdRowForm",
    "ThresholdsForm",
]
