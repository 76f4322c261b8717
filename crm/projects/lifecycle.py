"""The stage rules of a project: which moves are regular, and the milestone dates they imply.

A project climbs the ladder reserve → negotiation → signed → landed → started →
producing → reached target, one rung at a time; it may be terminated from any
stage. Other moves (skipping rungs, going back, reviving a terminated project)
are allowed with a reason and marked irregular.

Milestones: reaching a rung dates every rung below it that has no date yet (a
project recorded as started has also landed); going back clears the dates of
the rungs above the new stage, for every period: a move back is a reduction
(核减) of what was counted, not an event of the month it happens in, so
recomputed figures of earlier months drop it too (a published report keeps its
figures and shows the difference). Terminating keeps the dates (a terminated
project was signed, and the rates count it as signed and not landed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from crm.models import STAGE_LADDER, Project, ProjectStage, ProjectStageChange

# The rungs with a milestone column on Project.
MILESTONES: dict[ProjectStage, str] = {
    ProjectStage.SIGNED: "signed_on",
    ProjectStage.LANDED: "landed_on",
    ProjectStage.STARTED: "started_on",
    ProjectStage.PRODUCING: "producing_on",
    ProjectStage.REACHED_TARGET: "reached_target_on",
}


def rung(stage: ProjectStage) -> int:
    return STAGE_LADDER.index(stage)


def next_stage(stage: ProjectStage) -> ProjectStage | None:
    if stage == ProjectStage.TERMINATED or stage == STAGE_LADDER[-1]:
        return None
    return STAGE_LADDER[rung(stage) + 1]


def is_regular(from_stage: ProjectStage | None, to_stage: ProjectStage) -> bool:
    """One rung up, or a termination. Anything else needs a reason."""
    if from_stage is None:
        return True  # the first record of a project: it enters where it is
    if to_stage == ProjectStage.TERMINATED:
        return from_stage != ProjectStage.TERMINATED
    return next_stage(from_stage) == to_stage


def apply(project: Project, to_stage: ProjectStage, effective_on: date) -> None:
    """Move ``project`` to ``to_stage`` as of ``effective_on`` and keep its milestones."""
    if to_stage == ProjectStage.TERMINATED:
        project.terminated_on = effective_on
    else:
        project.terminated_on = None
        project.termination_reason = None
        reached = rung(to_stage)
        for stage, column in MILESTONES.items():
            if rung(stage) <= reached:
                if getattr(project, column) is None:
                    setattr(project, column, effective_on)
            else:
                setattr(project, column, None)
    project.stage = to_stage
    project.stage_since = effective_on


def replay(project: Project, changes: Iterable[ProjectStageChange]) -> None:
    """Derive stage and milestones from the whole history (oldest first)."""
    for column in MILESTONES.values():
        setattr(project, column, None)
    project.terminated_on = None
    ordered = sorted(changes, key=lambda change: (change.effective_on, change.id or 0))
    for change in ordered:
        apply(project, change.to_stage, change.effective_on)
        if change.to_stage == ProjectStage.TERMINATED:
            project.termination_reason = change.reason
