"""The preview page offers the import only when some row would be created or updated."""

from __future__ import annotations

import re

from crm.models import ImportJob, ImportStatus, Role
from tests.imports_helpers import code, job_id_of, map_columns, upload, xlsx_bytes

HEADER = ["统一社会信用代码", "企业名称"]


def _mistyped(credit_code: str) -> str:
    """The same code with a wrong check character (the last one)."""
    return credit_code[:-1] + ("0" if credit_code[-1] != "0" else "1")


def _import_button(html: str) -> str:
    match = re.search(r"<button[^>]*>\s*Import the accepted rows\s*</button>", html)
    assert match, html[:2000]
    return match.group(0)


def test_the_import_button_is_disabled_when_every_row_is_refused(db, client_for, make_user):
    # The counts are a dict: the template once read ``counts.update`` (the dict's method,
    # always true), so a preview refusing every row still offered the import.
    client = client_for(make_user(Role.ADMIN, name="管理员", locale="en"))
    refused = xlsx_bytes([HEADER, [_mistyped(code(1)), "甲有限公司"]])
    job_id = job_id_of(upload(client, refused, "refused.xlsx"))
    assert map_columns(client, job_id).status_code == 302
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert 'data-count="refuse">1<' in page
    assert "disabled" in _import_button(page)
    # A POST past the disabled button is refused by the import itself.
    response = client.post(f"/imports/{job_id}/import")
    assert response.status_code == 409
    assert "Nothing to import: every row is refused or unchanged." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(ImportJob, job_id).status == ImportStatus.PREVIEWED


def test_the_import_button_is_enabled_when_a_row_would_be_created(
    db, client_for, make_user, make_unit
):
    unit = make_unit("翠屏区")
    admin = make_user(Role.ADMIN, name="管理员", locale="en")
    client = client_for(admin)
    data = xlsx_bytes([[*HEADER, "所属单位"], [code(2), "乙有限公司", unit.name]])
    job_id = job_id_of(upload(client, data, "ok.xlsx"))
    assert map_columns(client, job_id).status_code == 302
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert 'data-count="create">1<' in page
    assert "disabled" not in _import_button(page)
