"""Response headers and error pages common to every route."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.api import problems

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def register(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages carry personal data: never keep them in shared caches.
            response.headers["Cache-Control"] = "no-store"
        return response

    def _error(error, status: int, title: str, message: str):
        if problems.is_api_request():
            return problems.from_http_exception(error)
        return render_template(
            "errors/error.html", status=status, title=title, message=message
        ), status

    @app.errorhandler(403)
    def _forbidden(error):
        return _error(error, 403, _("Access denied"), _("You do not have permission to do this."))

    @app.errorhandler(404)
    def _not_found(error):
        return _error(
            error,
            404,
            _("Not found, or not yours to see"),
            _(
                "The page or record does not exist, or belongs to units you have no access to. "
                "If you need it, ask a manager of those units or an administrator."
            ),
        )

    @app.errorhandler(413)
    def _too_large(error):
        return _error(error, 413, _("Too large"), _("The upload is larger than the allowed size."))

    @app.errorhandler(HTTPException)
    def _other_http_errors(error: HTTPException):
        # The API answers every error as problem+json; pages keep Werkzeug's.
        if problems.is_api_request():
            return problems.from_http_exception(error)
        return error

    @app.errorhandler(500)
    def _server_error(error):
        if problems.is_api_request():
            return problems.problem(500)
        return error

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _error(
            error,
            400,
            _("Form expired"),
            _("The form has expired. Please reload the page and try again."),
        )
