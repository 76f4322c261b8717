"""One module per resource; each makes its blueprint with ``crm.api.base.resource``."""

from __future__ import annotations

from crm.api.resources import (
    contacts,
    enterprises,
    follow_ups,
    issue_steps,
    issues,
    project_progress,
    projects,
    reports,
    targets,
    timeline,
    visits,
)

BLUEPRINTS = [
    enterprises.blp,
    issues.blp,
    issue_steps.blp,
    projects.blp,
    project_progress.blp,
    reports.blp,
    targets.blp,
    # Under an enterprise: its contacts, visits, follow-ups and file.
    contacts.blp,
    visits.blp,
    follow_ups.blp,
    timeline.blp,
]
