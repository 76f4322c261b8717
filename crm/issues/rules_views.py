"""Admin page: the deadlines of each category of enterprise issue (respond, solution, close)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from crm import labels
from crm.access import current_access
from crm.issues import workflow
from crm.issues.forms import IssueRuleForm
from crm.models import IssueCategory
from crm.web import save

bp = Blueprint("issue_rules", __name__, url_prefix="/admin/issue-rules")


def _forms(failed: IssueRuleForm | None = None) -> list[tuple[str, IssueRuleForm]]:
    rules = workflow.all_rules()
    forms = []
    for category, rule in rules.items():
        if failed is not None and failed.category.data == category.value:
            form = failed
        else:
            form = IssueRuleForm(
                formdata=None,
                category=category.value,
                respond_minutes=rule.respond_minutes,
                solution_minutes=rule.solution_minutes,
                close_minutes=rule.close_minutes,
                version=rule.row.version if rule.row else "",
            )
        forms.append((labels.enum_label(IssueCategory, category.value), form))
    return forms


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    current_access().require_admin()
    form = IssueRuleForm()
    status = 200
    failed = None
    if form.is_submitted():
        if form.category.data not in {c.value for c in IssueCategory}:
            abort(400)
        if form.validate():
            outcome = save(
                lambda: workflow.save_rule(
                    form.category.data,
                    expected_version=form.version.data,
                    respond_minutes=form.respond_minutes.data,
                    solution_minutes=form.solution_minutes.data,
                    close_minutes=form.close_minutes.data,
                ),
                form,
            )
            if outcome.saved:
                flash(_("The deadlines were saved."), "success")
                return redirect(url_for("issue_rules.index"))
            status = outcome.status
        else:
            status = 400
        failed = form
    return render_template("issues/rules.html", forms=_forms(failed)), status
