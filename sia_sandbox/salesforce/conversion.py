"""Lead conversion, as Salesforce's UI does it (REST has no convert call; the sandbox offers it as a control)."""

from __future__ import annotations

from sia_sandbox.salesforce.ids import new_id
from sia_sandbox.salesforce.records import get_record, insert_record, savepoint, scan, update_record
from sia_sandbox.salesforce.schema import ACCOUNT, CONTACT, LEAD, TASK
from sia_sandbox.salesforce.validation import RecordError, WriteContext, prepare_write

#: Fields a converted Lead hands on to its new Contact (Salesforce's standard lead-field mapping, trimmed).
_CONVERTED_FIELDS = (
    "FirstName", "LastName", "Title", "Email", "Phone", "MobilePhone", "LeadSource", "HasOptedOutOfEmail",
    "DoNotCall", "HasOptedOutOfFax", "LinkedIn_URL__c", "OwnerId",
)  # fmt: skip


def convert_lead(ctx: WriteContext, lead_id: str, *, contact_id: str | None = None) -> dict[str, str]:
    """Salesforce's lead conversion (the UI's "Convert" button / SOAP ``convertLead``).

    Creates an Account (named after the lead's Company) and a Contact carrying the lead's person fields, or merges
    into an existing ``contact_id``; marks the Lead converted (``IsConverted``, ``ConvertedContactId`` ...), after
    which the Lead cannot be updated (``CANNOT_UPDATE_CONVERTED_LEAD``); and re-parents the lead's Tasks to the
    Contact, as Salesforce does. Every touched record gets a new SystemModstamp. Returns the new ids.
    """
    stored = get_record(ctx.db, lead_id)
    if stored is None or stored.sobject is not LEAD or stored.is_deleted:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", f"invalid lead id: {lead_id}", status=404)
    lead = stored.record
    if lead.get("IsConverted"):
        raise RecordError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    stamp = ctx.stamp
    with savepoint(ctx.db, "sf_convert"):
        if contact_id:
            contact = get_record(ctx.db, contact_id)
            if contact is None or contact.sobject is not CONTACT or contact.is_deleted:
                raise RecordError(
                    "INVALID_CROSS_REFERENCE_KEY", f"invalid contact id: {contact_id}", status=404
                )
            new_contact_id = contact.id
            account_id = contact.record.get("AccountId")
        else:
            account_id = new_id(ctx.db, ACCOUNT)
            account = prepare_write(ctx, ACCOUNT, {"Name": lead.get("Company") or "Unknown"}, None)
            account["OwnerId"] = lead.get("OwnerId") or ctx.user_id
            insert_record(ctx.db, ACCOUNT, account_id, account, stamp)
            body = {k: lead.get(k) for k in _CONVERTED_FIELDS if lead.get(k) is not None}
            body["AccountId"] = account_id
            data = prepare_write(ctx, CONTACT, body, None)
            new_contact_id = new_id(ctx.db, CONTACT)
            insert_record(ctx.db, CONTACT, new_contact_id, data, stamp)
        converted = dict(lead)
        converted.update(
            IsConverted=True,
            ConvertedDate=ctx.now.date().isoformat(),
            ConvertedContactId=new_contact_id,
            ConvertedAccountId=account_id,
            Status="Closed - Converted",
            LastModifiedById=ctx.user_id,
        )
        update_record(ctx.db, LEAD, stored.id, converted, stamp)
        tasks = scan(
            ctx.db, TASK, include_deleted=False, where="json_extract(data, '$.WhoId') = ?", params=[stored.id]
        )
        for task in list(tasks):
            moved = dict(task)
            moved.update(WhoId=new_contact_id, AccountId=account_id, LastModifiedById=ctx.user_id)
            update_record(ctx.db, TASK, str(task["Id"]), moved, stamp)
    out = {"leadId": stored.id, "contactId": new_contact_id}
    if account_id:
        out["accountId"] = str(account_id)
    return out
