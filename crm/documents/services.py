"""Documents attached to an enterprise (and optionally to one of its visits or issues).

An upload is checked before it is kept: its extension must be on the allow
list, it must not be empty or too large, and its first bytes must match what
the extension claims, so a "合同.pdf" that is really a program or a web page
is refused. The type it is later served as comes from the extension, never
from what the browser said.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm import timeline
from crm.documents.storage import FileStorage, FileTooLarge, delete_unless_committed
from crm.errors import ServiceError
from crm.extensions import db
from crm.models import Document, DocumentKind, Enterprise, EnterpriseIssue, User, Visit
from crm.records import soft_delete

HEAD_BYTES = 8192
MAX_FILENAME = 255
MAX_TITLE = 200

MIMETYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "txt": "text/plain",
    "csv": "text/csv",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "zip": "application/zip",
    "ofd": "application/ofd",
    "wps": "application/vnd.ms-works",
}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip
OLE2_MAGIC = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # legacy Office and WPS files
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
TEXT_EXTENSIONS = {"txt", "csv"}


def _starts(*magic: bytes):
    return lambda head: head.startswith(magic)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _is_pdf(head: bytes) -> bool:
    # Some writers put a byte-order mark or blank lines before the header.
    return head.lstrip(b"\xef\xbb\xbf\r\n\t ").startswith(b"%PDF-")


def _is_text(head: bytes) -> bool:
    """Plain text in UTF-8 or GB18030 (what Chinese Excel writes for CSV), no binary bytes."""
    if b"\x00" in head:
        return False
    # A full head may end in the middle of a character: only a shorter one is the whole file.
    final = len(head) < HEAD_BYTES
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=final)
            return True
        except UnicodeDecodeError:
            continue
    return False


SIGNATURES = {
    "pdf": _is_pdf,
    "png": _starts(b"\x89PNG\r\n\x1a\n"),
    "jpg": _starts(b"\xff\xd8\xff"),
    "jpeg": _starts(b"\xff\xd8\xff"),
    "gif": _starts(b"GIF87a", b"GIF89a"),
    "webp": _is_webp,
    "heic": _is_heif,
    "zip": _starts(*ZIP_MAGIC),
    "docx": _starts(*ZIP_MAGIC),
    "xlsx": _starts(*ZIP_MAGIC),
    "pptx": _starts(*ZIP_MAGIC),
    "ofd": _starts(*ZIP_MAGIC),
    "doc": _starts(*OLE2_MAGIC),
    "xls": _starts(*OLE2_MAGIC),
    "ppt": _starts(*OLE2_MAGIC),
    "wps": _starts(*OLE2_MAGIC),
    "txt": _is_text,
    "csv": _is_text,
}


class _Rewound:
    """A stream whose first bytes were already read for sniffing, read again from the start."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def clean_filename(filename: str | None) -> str:
    """The name as the user knows it (Chinese kept), without path parts or control characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = stem[: MAX_FILENAME - len(ext) - 1] + dot + ext if dot else name[:MAX_FILENAME]
    return name


def extension_of(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and _stem else ""


def mimetype_for(filename: str) -> str:
    return MIMETYPES.get(extension_of(filename), "application/octet-stream")


def _refuse(message) -> ServiceError:
    return ServiceError(message, "file")


def check_extension(filename: str, allowed: list[str]) -> str:
    ext = extension_of(filename)
    allowed_set = {a.lower().lstrip(".") for a in allowed}
    if not ext or ext not in allowed_set:
        raise _refuse(
            _l(
                "This type of file is not accepted. Accepted types: %(types)s.",
                types=", ".join(sorted(allowed_set)),
            )
        )
    return ext


def check_content(ext: str, head: bytes) -> None:
    if not head:
        raise _refuse(_l("The file is empty."))
    check = SIGNATURES.get(ext)
    if check is not None and not check(head):
        raise _refuse(
            _l(
                "The file's content does not match its extension (.%(ext)s): it was not kept.",
                ext=ext,
            )
        )


def _check_parents(enterprise: Enterprise, visit: Visit | None, issue: EnterpriseIssue | None):
    for parent in (visit, issue):
        if parent is not None and (
            parent.enterprise_id != enterprise.id or parent.deleted_at is not None
        ):
            raise ValueError("the visit or issue belongs to another enterprise")


def _event_data(document: Document) -> dict:
    data = {
        "title": document.title or document.filename,
        "filename": document.filename,
        "kind": document.kind.value,
        "size": document.size_bytes,
        "document_id": document.id,
        "enum": {"kind": "DocumentKind"},
    }
    if document.visit_id:
        data["visit_id"] = document.visit_id
    if document.issue_id:
        data["issue_id"] = document.issue_id
    return data


def attach_document(
    enterprise: Enterprise,
    *,
    actor: User | None,
    stream: BinaryIO,
    filename: str | None,
    kind: DocumentKind | str,
    storage: FileStorage,
    allowed_extensions: list[str],
    max_bytes: int,
    title: str | None = None,
    visit: Visit | None = None,
    issue: EnterpriseIssue | None = None,
) -> Document:
    """Check and store an upload, then add its row and the file's event.

    The bytes are written before the row; if the transaction does not commit,
    ``delete_unless_committed`` removes them again.
    """
    _check_parents(enterprise, visit, issue)
    name = clean_filename(filename)
    if not name:
        raise _refuse(_l("Choose a file to upload."))
    ext = check_extension(name, allowed_extensions)
    title = (title or "").strip() or None
    if title and len(title) > MAX_TITLE:
        raise ServiceError(_l("At most %(n)d characters.", n=MAX_TITLE), "title")
    kind = DocumentKind(kind)

    head = stream.read(HEAD_BYTES)
    check_content(ext, head)
    try:
        stored = storage.save(_Rewound(head, stream), max_bytes=max_bytes)
    except FileTooLarge:
        raise _refuse(
            _l("The file is too large: at most %(mb)s MB.", mb=f"{max_bytes / 1048576:g}")
        ) from None
    delete_unless_committed(db.session(), storage, stored.key)

    document = Document(
        enterprise_id=enterprise.id,
        visit_id=visit.id if visit else None,
        issue_id=issue.id if issue else None,
        kind=kind,
        title=title,
        filename=name,
        content_type=mimetype_for(name),
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
        uploaded_by_id=actor.id if actor else None,
    )
    db.session.add(document)
    db.session.flush()
    timeline.record(
        enterprise.id,
        "document.attached",
        actor=actor,
        subject_type="document",
        subject_id=document.id,
        data=_event_data(document),
    )
    db.session.flush()
    return document


def delete_document(document: Document, *, actor: User | None) -> None:
    """Soft delete: the bytes stay in storage so an administrator can restore the document."""
    soft_delete(document, "document", actor=actor, data=_event_data(document))


def live_documents(enterprise_id: int) -> list[Document]:
    return list(
        db.session.execute(
            select(Document)
            .where(Document.enterprise_id == enterprise_id, Document.deleted_at.is_(None))
            .order_by(Document.created_at.desc(), Document.id.desc())
        ).scalars()
    )
