"""What analytics lets go of when a person is erased (registered with contacts' erasure)."""

from django.db.models import QuerySet

from engagex.analytics.models import EmailEvent
from engagex.contacts.models import Contact


def events_forget_contacts(*, contacts: QuerySet[Contact]) -> int:
    """Blank the mail servers' texts on the events of contacts being erased (a bounce or
    drop reason usually quotes the address); the events stay for the campaign's counts."""
    return (
        EmailEvent.objects.filter(contact_id__in=contacts.values("pk"))
        .exclude(reason="")
        .update(reason="")
    )
