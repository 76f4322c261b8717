"""Documents: upload checks, storage outside the database, download, soft delete, access."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import LargeBinary, select

from crm.models import (
    Document,
    DocumentKind,
    EnterpriseIssue,
    IssueCategory,
    Role,
    Visit,
    VisitKind,
)
from tests.helpers import events

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + bytes(32)
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.fixture
def world(db, make_unit, make_user, make_enterprise):
    unit_a, unit_b = make_unit("县甲"), make_unit("县乙")
    enterprise = make_enterprise("宜宾测试科技有限公司", units=[unit_a])
    other = make_enterprise("眉山另一家有限公司", units=[unit_b])
    visit = Visit(
        enterprise_id=enterprise.id,
        kind=VisitKind.DOOR_KNOCKING,
        visit_date=date(2026, 3, 2),
        summary="敲门拜访",
    )
    other_visit = Visit(
        enterprise_id=other.id, kind=VisitKind.CALL, visit_date=date(2026, 3, 3), summary="电话"
    )
    issue = EnterpriseIssue(enterprise_id=enterprise.id, category=IssueCategory.LAND, title="用地")
    other_issue = EnterpriseIssue(
        enterprise_id=other.id, category=IssueCategory.POWER, title="用电"
    )
    db.session.add_all([visit, other_visit, issue, other_issue])
    db.session.commit()
    return SimpleNamespace(
        staff=make_user(Role.STAFF, [unit_a], locale="en"),
        outsider=make_user(Role.STAFF, [unit_b], locale="en"),
        leader=make_user(Role.LEADER, locale="en"),
        enterprise=enterprise,
        other=other,
        visit=visit,
        other_visit=other_visit,
        issue=issue,
        other_issue=other_issue,
    )


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch) -> Path:
    """A fresh UPLOAD_FOLDER per test, so "nothing left behind" can be checked exactly."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


def stored_files(folder: Path) -> list[Path]:
    """Every file under the upload folder, temporary ones included."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload(client, enterprise_id, content, filename, query="", **fields):
    data = {"kind": fields.pop("kind", "contract"), "title": fields.pop("title", "")}
    data["file"] = (io.BytesIO(content), filename)
    return client.post(
        f"/enterprises/{enterprise_id}/documents/new{query}",
        data=data,
        content_type="multipart/form-data",
    )


def documents(db):
    return list(db.session.execute(select(Document).order_by(Document.id)).scalars())


def test_upload_form(client_for, world):
    response = client_for(world.staff).get(f"/enterprises/{world.enterprise.id}/documents/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="file"' in page
    assert "Contract" in page  # kind choices are labelled


def test_upload_and_download_round_trip(client_for, world, db, upload_folder):
    client = client_for(world.staff)
    response = upload(client, world.enterprise.id, PDF, "合同.pdf", title="投资协议")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world.enterprise.id}")

    [document] = documents(db)
    assert document.filename == "合同.pdf" and document.title == "投资协议"
    assert document.kind == DocumentKind.CONTRACT
    assert document.content_type == "application/pdf"
    assert document.size_bytes == len(PDF)
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.uploaded_by_id == world.staff.id
    assert (document.visit_id, document.issue_id) == (None, None)

    # The bytes are in the upload folder under an opaque key, not in the database.
    path = upload_folder / document.storage_key
    assert path.read_bytes() == PDF
    assert "合同" not in document.storage_key and document.storage_key.count("/") == 2
    assert stored_files(upload_folder) == [path]
    assert not any(isinstance(c.type, LargeBinary) for c in Document.__table__.columns)

    [event] = events(db, "document.attached")
    assert (event.subject_type, event.subject_id, event.actor_id) == (
        "document",
        document.id,
        world.staff.id,
    )
    assert event.data["filename"] == "合同.pdf"
    assert event.data["kind"] == "contract" and event.data["size"] == len(PDF)
    assert event.data["document_id"] == document.id
    assert "visit_id" not in event.data

    download = client.get(f"/documents/{document.id}/download")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C.pdf" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("content", "filename", "kind", "mimetype"),
    [
        (PNG, "现场照片.PNG", "photo", "image/png"),
        (JPEG, "photo.jpeg", "photo", "image/jpeg"),
        (DOCX, "报告.docx", "report", None),
        (XLS, "台账.xls", "report", "application/vnd.ms-excel"),
        ("企业名称,投资额\n宜宾某公司,10亿\n".encode("gb18030"), "名单.csv", "other", "text/csv"),
        ("会谈纪要：同意推进。".encode(), "纪要.txt", "letter", "text/plain"),
    ],
)
def test_accepted_formats(client_for, world, db, content, filename, kind, mimetype):
    client = client_for(world.staff)
    assert upload(client, world.enterprise.id, content, filename, kind=kind).status_code == 302
    [document] = documents(db)
    assert document.kind == DocumentKind(kind)
    download = client.get(f"/documents/{document.id}/download")
    assert download.data == content
    if mimetype:
        assert download.mimetype == mimetype


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (PDF, "setup.exe", "This type of file is not accepted"),
        (HTML, "page.html", "This type of file is not accepted"),
        (PDF, "no_extension", "This type of file is not accepted"),
        (EXE, "合同.pdf", "does not match its extension"),
        (HTML, "合同.pdf", "does not match its extension"),
        (HTML, "照片.png", "does not match its extension"),
        (EXE, "照片.jpg", "does not match its extension"),
        (PDF, "报告.docx", "does not match its extension"),
        (EXE, "说明.txt", "does not match its extension"),
        (b"", "空.pdf", "The file is empty."),
    ],
)
def test_refused_uploads_keep_nothing(
    client_for, world, db, upload_folder, content, filename, message
):
    before = stored_files(upload_folder)
    response = upload(client_for(world.staff), world.enterprise.id, content, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert documents(db) == [] and events(db, "document.attached") == []
    assert stored_files(upload_folder) == before


def test_missing_file_is_refused(client_for, world, db):
    response = client_for(world.staff).post(
        f"/enterprises/{world.enterprise.id}/documents/new",
        data={"kind": "contract"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Choose a file to upload." in response.get_data(as_text=True)
    assert documents(db) == []


def test_too_large_file_is_refused_and_leaves_no_file(
    app, client_for, world, db, upload_folder, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 100)
    before = stored_files(upload_folder)
    client = client_for(world.staff)
    response = upload(client, world.enterprise.id, PDF + b"%" * 100, "大文件.pdf")
    assert response.status_code == 422
    assert "The file is too large" in response.get_data(as_text=True)
    assert documents(db) == []
    assert stored_files(upload_folder) == before  # no temporary file left either

    # Exactly at the limit is fine.
    exact = PDF + b"%" * (100 - len(PDF))
    assert upload(client, world.enterprise.id, exact, "刚好.pdf").status_code == 302
    assert documents(db)[0].size_bytes == 100


def test_request_over_max_content_length_is_413(app, client_for, world, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = upload(client_for(world.staff), world.enterprise.id, PDF + bytes(4096), "a.pdf")
    assert response.status_code == 413
    assert "The upload is larger than the allowed size." in response.get_data(as_text=True)
    assert documents(db) == []


def test_attach_to_visit_and_issue_of_the_same_enterprise(client_for, world, db):
    client = client_for(world.staff)
    page = client.get(f"/enterprises/{world.enterprise.id}/documents/new?visit_id={world.visit.id}")
    assert page.status_code == 200
    assert f"visit_id={world.visit.id}" in page.get_data(as_text=True)  # the form posts it back

    query = f"?visit_id={world.visit.id}"
    assert (
        upload(client, world.enterprise.id, PNG, "现场.png", query, kind="photo").status_code == 302
    )
    query = f"?issue_id={world.issue.id}"
    assert upload(client, world.enterprise.id, PDF, "批复.pdf", query).status_code == 302

    by_visit, by_issue = documents(db)
    assert (by_visit.visit_id, by_visit.issue_id) == (world.visit.id, None)
    assert (by_issue.visit_id, by_issue.issue_id) == (None, world.issue.id)
    first, second = events(db, "document.attached")
    assert first.data["visit_id"] == world.visit.id and "issue_id" not in first.data
    assert second.data["issue_id"] == world.issue.id


@pytest.mark.parametrize(
    "query",
    [
        "?visit_id={other_visit}",
        "?issue_id={other_issue}",
        "?visit_id=999999",
        "?visit_id=abc",
    ],
)
def test_visit_or_issue_of_another_enterprise_is_404(client_for, world, db, upload_folder, query):
    query = query.format(other_visit=world.other_visit.id, other_issue=world.other_issue.id)
    client = client_for(world.staff)
    assert client.get(f"/enterprises/{world.enterprise.id}/documents/new{query}").status_code == 404
    assert upload(client, world.enterprise.id, PDF, "a.pdf", query).status_code == 404
    assert documents(db) == [] and stored_files(upload_folder) == []


def test_download_access(client_for, world, db):
    assert upload(client_for(world.staff), world.enterprise.id, PDF, "合同.pdf").status_code == 302
    [document] = documents(db)

    outsider = client_for(world.outsider)
    assert outsider.get(f"/documents/{document.id}/download").status_code == 404
    assert outsider.get("/documents/999999/download").status_code == 404

    leader = client_for(world.leader)
    download = leader.get(f"/documents/{document.id}/download")
    assert download.status_code == 200 and download.data == PDF
    assert upload(leader, world.enterprise.id, PDF, "领导.pdf").status_code == 403
    assert leader.post(f"/documents/{document.id}/delete").status_code == 403
    assert outsider.post(f"/documents/{document.id}/delete").status_code == 404
    assert upload(outsider, world.enterprise.id, PDF, "外人.pdf").status_code == 404
    assert len(documents(db)) == 1


def test_soft_delete_keeps_the_file(client_for, world, db, upload_folder):
    client = client_for(world.staff)
    upload(client, world.enterprise.id, PDF, "合同.pdf", query=f"?visit_id={world.visit.id}")
    [document] = documents(db)
    response = client.post(f"/documents/{document.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/enterprises/{world.enterprise.id}")
    db.session.expire_all()
    document = db.session.get(Document, document.id)
    assert document.deleted_at is not None and document.deleted_by_id == world.staff.id
    assert (upload_folder / document.storage_key).read_bytes() == PDF  # undo stays possible
    [event] = events(db, "document.deleted")
    assert event.data["filename"] == "合同.pdf" and event.data["document_id"] == document.id
    assert event.data["size"] == len(PDF) and event.data["visit_id"] == world.visit.id
    assert client.get(f"/documents/{document.id}/download").status_code == 404


def test_failed_transaction_removes_the_written_file(app, world, db, upload_folder):
    from crm.documents.services import attach_document
    from crm.documents.storage import get_storage

    with app.test_request_context():
        document = attach_document(
            world.enterprise,
            actor=None,
            stream=io.BytesIO(PDF),
            filename="合同.pdf",
            kind="contract",
            storage=get_storage(),
            allowed_extensions=app.config["UPLOAD_EXTENSIONS"],
            max_bytes=app.config["UPLOAD_MAX_BYTES"],
        )
        path = upload_folder / document.storage_key
        assert path.exists()
        db.session.rollback()
    assert not path.exists()
    assert stored_files(upload_folder) == []


def test_failure_after_writing_during_a_request_leaves_no_orphan(
    client_for, world, db, upload_folder, monkeypatch
):
    from crm.documents import services

    def broken_record(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.timeline, "record", broken_record)
    client = client_for(world.staff)
    with pytest.raises(RuntimeError):
        upload(client, world.enterprise.id, PDF, "合同.pdf")
    assert stored_files(upload_folder) == []
    assert documents(db) == []


def test_storage_keys_are_validated(app, upload_folder):
    from crm.documents.storage import LocalFileStorage

    storage = LocalFileStorage(upload_folder)
    for key in ("../secret_key", "/etc/passwd", "2026/01/../../x", "2026/01/ABC"):
        with pytest.raises(ValueError):
            storage.open(key)
    stored = storage.save(io.BytesIO(b"hello"))
    with storage.open(stored.key) as fh:
        assert fh.read() == b"hello"
    storage.delete(stored.key)
    assert not storage.exists(stored.key)
