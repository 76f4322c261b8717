"""The policy form (一企一策); the project choices (this enterprise's projects) come from the view."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm import labels
from crm.models import PolicyStatus
from crm.projects.forms import NONE, AmountField
from crm.visits.forms import optional_int


class PolicyForm(FlaskForm):
    name = StringField(
        labels.FIELD["name"],
        validators=[DataRequired(), Length(max=200)],
        description=_l("e.g. 固定资产投资补助, 厂房租金减免"),
    )
    status = SelectField(
        labels.FIELD["status"],
        choices=labels.choices(PolicyStatus),
        default=PolicyStatus.PROPOSED.value,
        validators=[DataRequired()],
    )
    value_wan = AmountField(labels.FIELD["value_wan"], validators=[Optional()])
    project = SelectField(labels.FIELD["project"], coerce=optional_int)
    basis = StringField(
        labels.FIELD["basis"],
        validators=[Optional(), Length(max=300)],
        description=_l("The document or agreement the policy rests on."),
    )
    conditions = TextAreaField(
        labels.FIELD["conditions"],
        validators=[Optional(), Length(max=20000)],
        description=_l(
            "What the enterprise must do to receive it (investment, output, deadlines)."
        ),
        render_kw={"rows": 3},
    )

    def set_projects(self, projects) -> None:
        self.project.choices = [NONE] + [(p.id, p.name) for p in projects]


class EditPolicyForm(PolicyForm):
    version = HiddenField()
