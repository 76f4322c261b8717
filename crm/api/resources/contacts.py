"""/api/v1: an enterprise's contacts (联系人) — list, add, read, change, remove."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from crm.access import Action, current_access
from crm.api.base import checked_first, resource, token_user, write
from crm.api.etag import IF_MATCH_PARAMETER, etag_header, expected_version
from crm.api.pagination import PageArgs, keyset_page, link_header, page_schema
from crm.api.resources.lookups import api_field_names, users_by_id
from crm.api.schemas import Id, RefSchema
from crm.contacts import services
from crm.contacts.services import MAX_LENGTHS
from crm.models import Contact, User

blp = resource("contacts", "", "Contacts: the people met at an enterprise (personal data).")


# -- schemas -----------------------------------------------------------------------
def _length(field: str) -> ma.validate.Length:
    return ma.validate.Length(max=MAX_LENGTHS[field])


class ContactSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    enterprise = ma.fields.Nested(RefSchema, dump_only=True)
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=MAX_LENGTHS["name"]))
    title = ma.fields.String(allow_none=True, validate=_length("title"))
    phone = ma.fields.String(allow_none=True, validate=_length("phone"))
    email = ma.fields.String(allow_none=True, validate=_length("email"))
    wechat = ma.fields.String(allow_none=True, validate=_length("wechat"))
    is_main = ma.fields.Boolean(
        metadata={"description": "the main contact; setting it unsets the previous one"}
    )
    known_by = ma.fields.Nested(RefSchema, allow_none=True, dump_only=True)
    notes = ma.fields.String(allow_none=True, validate=_length("notes"))
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)
    version = ma.fields.Integer(dump_only=True)


class ContactWriteSchema(ContactSchema):
    known_by_id = Id(
        allow_none=True,
        load_only=True,
        metadata={
            "description": "the staff member who knows this person (one who sees the enterprise)"
        },
    )


class ContactCreateSchema(ContactWriteSchema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=MAX_LENGTHS["name"])
    )


class ContactListArgs(PageArgs):
    is_main = ma.fields.Boolean(metadata={"description": "only the main contact (or the others)"})


_NAMES = {"known_by": "known_by_id"}


def _service_fields(data: dict) -> dict:
    fields = dict(data)
    if "known_by_id" in fields:
        known_by_id = fields.pop("known_by_id")
        fields["known_by"] = users_by_id([known_by_id], "known_by")[0] if known_by_id else None
    return fields


def _enterprise_for_writing(enterprise_id: int, **_):
    current_access().enterprise_or_abort(enterprise_id, Action.EDIT)


def _contact_for_writing(contact_id: int, **_):
    current_access().record_or_abort(Contact, contact_id, Action.EDIT)


# -- routes ------------------------------------------------------------------------
@blp.route("/enterprises/<int:enterprise_id>/contacts")
class EnterpriseContacts(MethodView):
    @blp.arguments(ContactListArgs, location="query")
    @blp.response(200, page_schema(ContactSchema))
    def get(self, args, enterprise_id):
        """The enterprise's contacts, oldest first."""
        enterprise = current_access().enterprise_or_abort(enterprise_id)
        stmt = (
            select(Contact)
            .options(joinedload(Contact.known_by).options(lazyload(User.units)))
            .where(Contact.enterprise_id == enterprise.id, Contact.deleted_at.is_(None))
        )
        if "is_main" in args:
            stmt = stmt.where(Contact.is_main.is_(args["is_main"]))
        page = keyset_page(
            stmt,
            [Contact.id],
            cursor=args.get("cursor"),
            limit=args["limit"],
            key_of=lambda c: (c.id,),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}, 200, link_header(page)

    @checked_first(_enterprise_for_writing)
    @blp.arguments(ContactCreateSchema)
    @blp.response(201, ContactSchema)
    def post(self, data, enterprise_id):
        """Add a contact; recorded in the enterprise's file."""
        enterprise = current_access().enterprise_or_abort(enterprise_id, Action.EDIT)
        actor = token_user()

        def create():
            with api_field_names(_NAMES):
                return services.create_contact(enterprise, actor=actor, **_service_fields(data))

        contact = write(create)
        return contact, 201, etag_header(contact)


@blp.route("/contacts/<int:contact_id>")
class ContactItem(MethodView):
    @blp.response(200, ContactSchema)
    def get(self, contact_id):
        """One contact; its ETag goes in If-Match to change it."""
        contact = current_access().record_or_abort(Contact, contact_id)
        return contact, 200, etag_header(contact)

    @checked_first(_contact_for_writing)
    @blp.arguments(ContactWriteSchema(partial=True))
    @blp.response(200, ContactSchema)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, contact_id):
        """Change the fields sent; the change is recorded in the enterprise's file."""
        contact = current_access().record_or_abort(Contact, contact_id, Action.EDIT)
        version = expected_version(contact)
        actor = token_user()

        def update():
            with api_field_names(_NAMES):
                return services.update_contact(
                    contact, actor=actor, expected_version=version, **_service_fields(data)
                )

        write(update)
        return contact, 200, etag_header(contact)

    @blp.response(204)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, contact_id):
        """Remove the contact (soft: an admin can restore it from the trash)."""
        contact = current_access().record_or_abort(Contact, contact_id, Action.EDIT)
        version = expected_version(contact)
        actor = token_user()
        write(lambda: services.delete_contact(contact, actor=actor, expected_version=version))
        return "", 204
