from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField

from crm.imports import mapping as columns
from crm.models import ImportKind, OnExisting

KIND_LABELS = {
    ImportKind.ENTERPRISES: _l("Enterprises"),
    ImportKind.CONTACTS: _l("Contacts"),
    ImportKind.PROJECTS: _l("Projects"),
    ImportKind.FUNDS: _l("Funds in place"),
}
ON_EXISTING_LABELS = {
    OnExisting.SKIP: _l("Skip the row"),
    OnExisting.UPDATE: _l("Update the record"),
    OnExisting.REFUSE: _l("Refuse the row"),
}


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"), choices=[(k.value, label) for k, label in KIND_LABELS.items()]
    )
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to upload."))])


class SubmitForm(FlaskForm):
    confirm_repeat = BooleanField(_l("Import it again"))


def mapping_form(kind: ImportKind, headers: list[str], current: list[str | None], on_existing):
    """One select per column of the sheet ("ignore" or a field), and what to do with existing records."""
    choices = [("", _l("Ignore this column"))] + [(f.key, f.label) for f in columns.fields(kind)]

    class MappingForm(FlaskForm):
        on_existing_choice = RadioField(
            _l("When the record already exists"),
            choices=[(k.value, label) for k, label in ON_EXISTING_LABELS.items()],
            default=OnExisting(on_existing).value,
        )

    for index, header in enumerate(headers):
        field = SelectField(
            header or _l("Column %(n)d", n=index + 1),
            choices=choices,
            default=(current[index] if index < len(current) else None) or "",
        )
        setattr(MappingForm, f"col_{index}", field)
    form = MappingForm()
    form.column_fields = [getattr(form, f"col_{i}") for i in range(len(headers))]
    return form
