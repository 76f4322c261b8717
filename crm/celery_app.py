"""Celery bound to the Flask app (the official ``celery_init_app`` pattern).

Tasks are ``@shared_task`` functions in ``tasks/``; each runs inside an app
context, so services and the database session work as in a request.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.update(include=["tasks.maintenance", "tasks.reminders", "tasks.imports"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
