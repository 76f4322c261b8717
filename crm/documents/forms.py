from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from crm import labels
from crm.documents.services import MAX_TITLE
from crm.models import DocumentKind


class DocumentForm(FlaskForm):
    kind = SelectField(
        _l("Type"), choices=labels.choices(DocumentKind), default=DocumentKind.OTHER.value
    )
    title = StringField(
        _l("Title"),
        validators=[Optional(), Length(max=MAX_TITLE)],
        description=_l("Optional; the file name is shown when empty."),
    )
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to upload."))])


class DeleteForm(FlaskForm):
    pass
