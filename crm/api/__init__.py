"""The JSON API, ``/api/v1``: flask-smorest resources over the same services and
access rules as the web pages.

Request and response schemas are marshmallow classes; flask-smorest validates
requests with them and generates the OpenAPI document from them, so the
document cannot drift from what the API accepts.
"""

from __future__ import annotations

import http

from flask import Flask
from flask_smorest import Api as SmorestApi
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from crm import routing
from crm.api import problems
from crm.api.base import PREFIX
from crm.api.schemas import ProblemSchema


class Api(SmorestApi):
    """flask-smorest with problem+json errors that stay inside the API.

    flask-smorest registers its JSON error handler on the whole application;
    the web pages keep their HTML error pages, so errors are routed in
    ``crm.security`` by path instead.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def handle_http_exception(self, error: HTTPException):
        return problems.from_http_exception(error)

    def _register_responses(self):
        # As flask-smorest's, with the media type the errors are really sent in.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.PROBLEM_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


api = Api()


def init_api(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Enterprise Service CRM API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A personal API token (Account → API tokens, or "
                        "`crm token create`).",
                    }
                }
            },
            "security": [{"bearerAuth": []}],
            "info": {
                "description": "Enterprises, their file (一企一档), contacts, visits, "
                "follow-ups, enterprise issues, projects, targets and reports. Errors are "
                "application/problem+json; lists page by cursor; updates need If-Match."
            },
        },
    )
    api.init_app(app)
    api.register_converter(routing.IdConverter, routing.openapi_parameter)
    from crm.api import docs
    from crm.api.resources import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
