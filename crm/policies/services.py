"""Policies of an enterprise's package (一企一策): create, edit, delete.

A policy may be tied to one of the enterprise's projects; clawing it back marks
that project as not performing (履约率, see crm.projects.figures).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import timeline
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Enterprise, Policy, PolicyStatus, User
from crm.projects.services import check_amount
from crm.records import check_version, soft_delete
from crm.text import blank_to_none

POLICY_FIELDS = ["name", "basis", "value_wan", "conditions", "status", "project"]
POLICY_ENUMS = {"status": "PolicyStatus"}


def _policy_payload(policy: Policy) -> dict:
    return {"title": policy.name, "policy_id": policy.id, "enum": dict(POLICY_ENUMS)}


def _clean_policy(enterprise: Enterprise, fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    cleaned = dict(fields)
    for key in ("name", "basis", "conditions"):
        if key in cleaned:
            cleaned[key] = blank_to_none(cleaned[key])
    if not cleaned.get("name"):
        raise ServiceError(_l("Give the policy a name."), "name")
    check_amount(cleaned.get("value_wan"), "value_wan")
    cleaned["status"] = PolicyStatus(cleaned.get("status") or PolicyStatus.PROPOSED)
    project = cleaned.get("project")
    if project is not None and project.enterprise_id != enterprise.id:
        raise ServiceError(_l("Choose a project of this enterprise."), "project")
    return cleaned


def create_policy(enterprise: Enterprise, *, actor: User | None, **fields: Any) -> Policy:
    cleaned = _clean_policy(enterprise, fields)
    policy = Policy(
        enterprise_id=enterprise.id, created_by_id=actor.id if actor else None, **cleaned
    )
    db.session.add(policy)
    db.session.flush()
    data = _policy_payload(policy)
    data.update(timeline.snapshot(policy, ["status", "value_wan", "project"]))
    timeline.record(
        enterprise.id,
        "policy.created",
        actor=actor,
        subject_type="policy",
        subject_id=policy.id,
        data=data,
    )
    return policy


def update_policy(policy: Policy, *, actor: User | None, expected_version, **fields: Any) -> Policy:
    check_version(policy, expected_version, allow_missing=False)
    cleaned = _clean_policy(policy.enterprise, fields)
    before = timeline.snapshot(policy, POLICY_FIELDS)
    for key, value in cleaned.items():
        setattr(policy, key, value)
    after = timeline.snapshot(policy, POLICY_FIELDS)
    timeline.record_change(
        policy.enterprise_id,
        "policy.updated",
        actor=actor,
        subject_type="policy",
        subject_id=policy.id,
        before=before,
        after=after,
        data=_policy_payload(policy),
    )
    db.session.flush()
    return policy


def delete_policy(policy: Policy, *, actor: User | None) -> None:
    soft_delete(policy, "policy", actor=actor, data=_policy_payload(policy))


def enterprise_policies(enterprise: Enterprise) -> list[Policy]:
    return list(
        db.session.execute(
            select(Policy)
            .where(Policy.enterprise_id == enterprise.id, Policy.deleted_at.is_(None))
            .order_by(Policy.created_at.desc())
        ).scalars()
    )
