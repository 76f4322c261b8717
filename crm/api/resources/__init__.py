"""One module per resource; each makes its blueprint with ``crm.api.base.resource``."""

from __future__ import annotations

from crm.api.resources import enterprises

BLUEPRINTS = [enterprises.blp]
