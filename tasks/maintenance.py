"""Housekeeping tasks."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import Enterprise

log = logging.getLogger(__name__)


@shared_task(name="tasks.maintenance.heartbeat", ignore_result=True)
def heartbeat() -> int:
    """Prove the worker reaches the database; beat runs it every minute."""
    count = db.session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
    log.info("heartbeat: %s enterprises", count)
    return count
