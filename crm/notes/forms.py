from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from crm.notes.services import MAX_BODY


class NoteForm(FlaskForm):
    # The enterprise file posts its quick-note box here too, with the same field name.
    body = TextAreaField(
        _l("Note"),
        validators=[
            DataRequired(message=_l("Write something in the note.")),
            Length(max=MAX_BODY),
        ],
        render_kw={"rows": 6},
    )
    version = HiddenField()


class DeleteForm(FlaskForm):
    version = HiddenField()
