"""What every API resource shares: its blueprint, token sign-in, and the commit.

A resource module makes its blueprint with ``resource()``; the blueprint signs
the caller in from the bearer token before any view runs, so no route can
forget it, and ``current_access()`` then gives the same Access as on the web.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import g, request
from flask_login import current_user
from flask_smorest import Blueprint, abort
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Action, current_access
from crm.api import problems, tokens
from crm.errors import DuplicateError, ServiceError, StaleEditError
from crm.extensions import csrf, db

PREFIX = "/api/v1"


def authenticate() -> None:
    """``before_request`` of every API blueprint: the bearer token, or 401.

    A session cookie is not enough: a page open in a browser must not be able
    to call the API on the user's behalf (the API takes no CSRF token).
    """
    g.pop("_login_user", None)
    g.pop("access", None)
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    user = tokens.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401)
    # Flask-Login's current_user reads this; the session is never touched.
    g._login_user = user


class ApiBlueprint(Blueprint):
    """Unknown query parameters are refused (422) like unknown body fields: a
    misspelt filter (``?unit=`` for ``?unit_id=``) must not silently list everything."""

    def arguments(self, schema, *, location="json", **kwargs):
        if location == "query":
            kwargs.setdefault("unknown", ma.RAISE)
        return super().arguments(schema, location=location, **kwargs)


def resource(name: str, path: str, description: str) -> Blueprint:
    blueprint = ApiBlueprint(
        f"api_{name}", __name__, url_prefix=f"{PREFIX}/{path}", description=description
    )
    blueprint.before_request(authenticate)
    csrf.exempt(blueprint)
    return blueprint


def token_user():
    """The user the request's token belongs to, as the services take it (``actor=``)."""
    return current_user._get_current_object()


def requires(action: Action):
    """The role must allow ``action`` at all (create, say): checked before the body is
    read, so a reader gets 403 rather than a list of fields to fix."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            current_access().require(action)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def checked_first(check: Callable[..., object]):
    """Run ``check(**url_values)`` before the body is read (decorate ABOVE ``@blp.arguments``).

    flask-smorest validates the body before the view runs; a write to a record
    outside the caller's units must still answer 404 (and a reader's write 403)
    whatever the body holds, or a 422 listing the fields would reveal that the
    record exists.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            check(**kwargs)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def write(action: Callable[[], Any]) -> Any:
    """Run a service call and commit, or roll back and answer a problem.

    A stale version answers 412 (the If-Match was right when read, but someone
    saved in between); a broken rule 422 naming the field; a duplicate 409
    (the resource may say which record it met).
    """
    try:
        value = action()
        db.session.commit()
    except (StaleEditError, StaleDataError):
        db.session.rollback()
        abort(412)
    except DuplicateError as error:
        db.session.rollback()
        abort(409, errors=[problems.field_error(error.field or "", error.message)])
    except ServiceError as error:
        db.session.rollback()
        abort(422, errors=[problems.field_error(error.field or "", error.message)])
    return value
