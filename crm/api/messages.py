"""marshmallow's built-in messages in the caller's language.

Our schemas give their own (translated) messages for the rules they add; the
messages marshmallow and webargs produce themselves come out in English, so
the ones a caller can meet are listed here for the catalog and looked up.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

KNOWN = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field may not be empty."),
    "Unknown field.": _l("Unknown field."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Not a valid string.": _l("Not a valid text."),
    "Not a valid boolean.": _l("Not a valid true/false value."),
    "Not a valid date.": _l("Not a valid date (YYYY-MM-DD)."),
    "Not a valid datetime.": _l("Not a valid date and time (ISO 8601)."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid mapping type.": _l("Not a valid object."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid input.": _l("Invalid input."),
    "Invalid value.": _l("Invalid value."),
    "Must be one of: ": _l("Not one of the allowed values."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Not a valid number."),
    "Number too large.": _l("The number is too large."),
    "Invalid JSON body.": _l("The request body is not valid JSON."),
    "Shorter than minimum length ": _l("Too short."),
    "Longer than maximum length ": _l("Too long."),
    "Length must be between ": _l("Wrong length."),
    "Must be greater than or equal to ": _l("The value is too small."),
    "Must be less than or equal to ": _l("The value is too large."),
    "Must be greater than ": _l("The value is too small."),
    "Must be less than ": _l("The value is too large."),
}


def translate(message: str) -> str:
    """The message in the caller's language when we know it; else as it came."""
    if message in KNOWN:
        return str(KNOWN[message])
    # Parameterised messages ("Must be one of: a, b.") are known by their start.
    # The English keeps its figures; other languages get the translation and the figures.
    locale = get_locale()
    if locale is None or locale.language == "en":
        return message
    for start, translated in KNOWN.items():
        if start.endswith(" ") and message.startswith(start):
            return f"{translated}（{message[len(start) :].rstrip('.')}）"
    return message
