"""The workspace JSON API (v1). Views adapt HTTP to the services; they hold no business logic."""

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from engagex.accounts.models import User
from engagex.accounts.selectors import invitation_list_pending
from engagex.accounts.services.invitations import invitation_create
from engagex.analytics.models import EmailEvent
from engagex.analytics.selectors import campaign_report, campaign_top_links, workspace_dashboard
from engagex.api import serializers as s
from engagex.api.permissions import OwnerOnly
from engagex.billing.limits import Limit, allowance
from engagex.billing.selectors import billing_summary, plan_list
from engagex.campaigns.selectors import campaign_list
from engagex.campaigns.services import campaigns as campaign_service
from engagex.campaigns.services.drafts import campaign_create, campaign_update
from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    ImportJob,
    Membership,
)
from engagex.contacts.selectors import (
    contact_get_by_email,
    contact_search,
    group_list,
    membership_list,
)
from engagex.contacts.services import importing
from engagex.contacts.services.contacts import (
    contact_bulk_upsert,
    contact_create,
    contact_delete_many,
    contact_subscribe,
    contact_update,
    group_add_contacts,
    group_remove_contacts,
)
from engagex.contacts.services.lists import (
    Consent,
    group_create,
    group_delete_many,
    group_update,
    membership_leave,
)
from engagex.core.ids import id_from_text
from engagex.core.tenancy import current_schema, current_tenant, workspace_language
from engagex.domains.models import SendingDomain
from engagex.domains.services import domain_create, domain_verify
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.services import template_create, template_update
from engagex.segments.selectors import with_segment_ids


def _acting_user(request):
    """Whom to credit for a request (`created_by`, audit): the session user or the key's creator.

    Never what decides: permission and role checks ask `request.user` (an API key's principal
    acts with the key's role capped by its creator's current role), so pass `request.user`
    as a service's `actor=`.
    """
    return getattr(request.user, "user", None) or (
        request.user if isinstance(request.user, User) else None
    )


@workspace_language()
def _via(request) -> str:
    """How the audit log names an API call: the key, or the API with a console session
    (in the workspace's language, like the rest of the audit entry)."""
    key = getattr(request.user, "key", None)
    if key is not None:
        return gettext("(API key “%(name)s”)") % {"name": key.name}
    return gettext("(API)")


BAD_ID_PARAM = gettext_lazy("“{value}” is not an id: give a whole number, like ?{name}=12.")
BAD_CHOICE_PARAM = gettext_lazy("“{value}” is not one of: {choices}.")


def _id_param(request, name: str) -> int | None:
    """The query parameter `name` as an id, None when absent; anything else is a 400."""
    value = request.query_params.get(name, "")
    if value == "":
        return None
    found = id_from_text(value)
    if found is None:
        raise ValidationError({name: [BAD_ID_PARAM.format(value=value[:40], name=name)]})
    return found


def _choice_param(request, name: str, choices: list[str]) -> str | None:
    value = request.query_params.get(name, "")
    if value == "":
        return None
    if value not in choices:
        shown = ", ".join(choices)
        raise ValidationError({name: [BAD_CHOICE_PARAM.format(value=value[:40], choices=shown)]})
    return value


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=[c.value for c in ContactStatus]),
        OpenApiParameter("group", int),
        OpenApiParameter("search", str, description="Start of the email, first or last name."),
    ]
)
class ContactViewSet(viewsets.ModelViewSet):
    serializer_class = s.ContactSerializer
    queryset = Contact.objects.all()
    action_permissions = {
        "bulk_upsert": ["contacts.add_contact", "contacts.change_contact"],
        "import_file": ["contacts.add_importjob"],
        "memberships": ["contacts.view_contact"],
    }

    def get_queryset(self):
        # `groups` reads as the lists a contact is on now (s.CURRENT statuses).
        current = Membership.objects.filter(status__in=s.CURRENT).only("contact_id", "group_id")
        queryset = Contact.objects.prefetch_related(
            Prefetch("memberships", queryset=current, to_attr="current_memberships")
        )
        params = self.request.query_params
        status_value = _choice_param(self.request, "status", ContactStatus.values)
        if status_value is not None:
            queryset = queryset.filter(status=status_value)
        group = _id_param(self.request, "group")
        if group is not None:
            members = current.filter(contact_id=OuterRef("pk"), group_id=group)
            queryset = queryset.filter(Exists(members))
        if params.get("search"):
            queryset = contact_search(queryset, params["search"])
        return queryset

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        groups = data.pop("groups", [])
        serializer.instance = contact_create(groups=groups, source="api", **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = contact_update(contact=serializer.instance, source="api", **data)
        serializer.instance.__dict__.pop("current_memberships", None)  # read them anew

    @extend_schema(responses=s.MembershipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def memberships(self, request, pk=None):
        """The contact's lists, in every status, with the evidence of their consent."""
        contact = self.get_object()
        return Response(s.MembershipSerializer(membership_list(contact), many=True).data)

    def perform_destroy(self, instance):
        contact_delete_many(contacts=Contact.objects.filter(pk=instance.pk))

    @extend_schema(request=s.BulkUpsertSerializer, responses=s.BulkResultSerializer)
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request):
        serializer = s.BulkUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(contact_bulk_upsert(items=serializer.validated_data["contacts"]))

    @extend_schema(request=s.ImportUploadSerializer, responses={202: s.ImportJobSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request):
        """Upload a spreadsheet; columns are matched automatically and the import runs."""
        serializer = s.ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = importing.import_job_create(
            upload=data["file"],
            created_by=_acting_user(request),
            unattended=True,
            update_existing=data["update_existing"],
            groups=data["lists"],
            file_status=data.get("file_status"),
            list_consent=data.get("list_consent") or "",
        )
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Import jobs; a failed or interrupted one can be retried (`resume/` is the same) or
    cancelled (rows already imported stay imported)."""

    serializer_class = s.ImportJobSerializer
    queryset = ImportJob.objects.all()
    action_permissions = {
        "retry": ["contacts.add_importjob"],
        "resume": ["contacts.add_importjob"],
        "cancel": ["contacts.add_importjob"],
    }

    @extend_schema(request=None, responses=s.ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = importing.import_job_retry(job=self.get_object(), user=_acting_user(request))
        job.refresh_from_db()
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=s.ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self.retry(request, pk)

    @extend_schema(request=None, responses=s.ImportJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = importing.import_job_cancel(job=self.get_object(), user=_acting_user(request))
        return Response(s.ImportJobSerializer(job).data)


LIST_WRITE = ["contacts.change_contact", "contacts.add_contact"]


class ListViewSet(viewsets.ModelViewSet):
    """Lists, with their members counted by status; people join and leave one at a time
    through `subscribe/` and `unsubscribe/`."""

    serializer_class = s.ListSerializer
    queryset = ContactGroup.objects.all()
    action_permissions = {"subscribe": LIST_WRITE, "unsubscribe": ["contacts.change_contact"]}

    def get_queryset(self):
        return group_list()

    def perform_destroy(self, instance):
        group_delete_many(groups=ContactGroup.objects.filter(pk=instance.pk))

    def perform_create(self, serializer):
        group = group_create(**serializer.validated_data)
        serializer.instance = group_list().get(pk=group.pk)

    def perform_update(self, serializer):
        group = group_update(group=serializer.instance, **serializer.validated_data)
        serializer.instance = group_list().get(pk=group.pk)

    @extend_schema(
        request=s.SubscribeSerializer,
        responses={200: s.MembershipSerializer, 201: s.MembershipSerializer},
    )
    @action(detail=True, methods=["post"])
    def subscribe(self, request, pk=None):
        """Put a contact (by id, or by email: created when new) on the list: subscribed, or
        unconfirmed and emailed a confirmation link (double opt-in). 201 when it joined,
        200 when it was already on the list."""
        group = self.get_object()
        serializer = s.SubscribeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership, created = contact_subscribe(
            group=group,
            contact=data.get("contact"),
            email=data.get("email", ""),
            double_opt_in=data.get("double_opt_in"),
            consent=Consent(
                source=ConsentSource.API,
                text=data.get("consent_text", ""),
                ip=data.get("consent_ip"),
            ),
        )
        return Response(
            s.MembershipSerializer(membership).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(request=s.MemberRefSerializer, responses=s.MembershipSerializer)
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request, pk=None):
        """Unsubscribe a contact (by id or email) from the list; it stays on record as
        unsubscribed, and only the person can subscribe again."""
        group = self.get_object()
        serializer = s.MemberRefSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = serializer.validated_data.get("contact") or contact_get_by_email(
            serializer.validated_data["email"]
        )
        if contact is None:
            raise ValidationError({"email": [NO_SUCH_CONTACT]})
        membership = membership_leave(contact=contact, group=group)
        return Response(s.MembershipSerializer(membership).data)


NO_SUCH_CONTACT = gettext_lazy("No contact has this email address.")


@extend_schema_view(
    list=extend_schema(deprecated=True),
    create=extend_schema(deprecated=True),
    retrieve=extend_schema(deprecated=True),
    update=extend_schema(deprecated=True),
    partial_update=extend_schema(deprecated=True),
    destroy=extend_schema(deprecated=True),
)
class GroupViewSet(viewsets.ModelViewSet):
    """Deprecated: lists under their old name (use `lists/`); kept working as before."""

    serializer_class = s.GroupSerializer
    queryset = ContactGroup.objects.all()
    action_permissions = {
        "add_contacts": ["contacts.change_contact"],
        "remove_contacts": ["contacts.change_contact"],
    }

    def get_queryset(self):
        return group_list()

    def perform_destroy(self, instance):
        group_delete_many(groups=ContactGroup.objects.filter(pk=instance.pk))

    # The list service, as `lists/`; the answer keeps its old shape (no counts on create).
    def perform_create(self, serializer):
        serializer.instance = group_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = group_update(group=serializer.instance, **serializer.validated_data)

    @extend_schema(request=s.ContactIdsSerializer, responses=s.CountSerializer)
    @action(detail=True, methods=["post"], url_path="add-contacts")
    def add_contacts(self, request, pk=None):
        return self._members(request, group_add_contacts)

    @extend_schema(request=s.ContactIdsSerializer, responses=s.CountSerializer)
    @action(detail=True, methods=["post"], url_path="remove-contacts")
    def remove_contacts(self, request, pk=None):
        return self._members(request, group_remove_contacts)

    def _members(self, request, service):
        group = self.get_object()
        serializer = s.ContactIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contacts = Contact.objects.filter(pk__in=serializer.validated_data["contacts"])
        count = service(group=group, contacts=contacts, user=_acting_user(request))
        return Response({"count": count})


class TemplateViewSet(viewsets.ModelViewSet):
    serializer_class = s.TemplateSerializer
    queryset = EmailTemplate.objects.all()

    def perform_create(self, serializer):
        serializer.instance = template_create(
            user=_acting_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = template_update(
            template=serializer.instance,
            user=_acting_user(self.request),
            **serializer.validated_data,
        )


class CampaignViewSet(viewsets.ModelViewSet):
    """Campaigns. `status` is `pausing` / `cancelling` while `in_flight` recipients are still
    with the ESP after a pause or cancel; `paused` / `cancelled` once they are answered."""

    serializer_class = s.CampaignSerializer
    queryset = with_segment_ids(
        campaign_list().prefetch_related("include_groups", "exclude_groups")
    )
    action_permissions = {
        "send": ["campaigns.send_campaign"],
        "schedule": ["campaigns.send_campaign"],
        "pause": ["campaigns.send_campaign"],
        "resume": ["campaigns.send_campaign"],
        "cancel": ["campaigns.send_campaign"],
        "analytics": ["campaigns.view_campaign"],
    }

    def perform_create(self, serializer):
        serializer.instance = campaign_create(
            user=_acting_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance):
        campaign_service.campaign_delete(campaign=instance)

    def perform_update(self, serializer):
        serializer.instance = campaign_update(
            campaign=serializer.instance, **serializer.validated_data
        )

    def _lifecycle(self, request, service, **kwargs):
        """Run a lifecycle service as the acting person; answer with the campaign as now."""
        campaign = service(user=_acting_user(request), via=_via(request), **kwargs)
        return self.get_serializer(self.get_queryset().get(pk=campaign.pk)).data

    @extend_schema(request=None, responses=s.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        data = self._lifecycle(
            request, campaign_service.campaign_start, campaign_id=self.get_object().pk
        )
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.ScheduleSerializer, responses=s.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        serializer = s.ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = self._lifecycle(
            request,
            campaign_service.campaign_schedule,
            campaign=self.get_object(),
            send_at=serializer.validated_data["send_at"],
        )
        return Response(data)

    @extend_schema(request=None, responses=s.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """Stop claiming batches: `pausing` until those with the ESP are answered."""
        return Response(
            self._lifecycle(request, campaign_service.campaign_pause, campaign=self.get_object())
        )

    @extend_schema(request=None, responses=s.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return Response(
            self._lifecycle(request, campaign_service.campaign_resume, campaign=self.get_object())
        )

    @extend_schema(request=None, responses=s.CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop for good: `cancelling` until the batches with the ESP are answered."""
        return Response(
            self._lifecycle(request, campaign_service.campaign_cancel, campaign=self.get_object())
        )

    @extend_schema(responses=s.CampaignAnalyticsSerializer)
    @action(detail=True, methods=["get"])
    def analytics(self, request, pk=None):
        campaign = self.get_object()
        report = campaign_report(campaign)
        stats = report["stats"]
        data = {key: value for key, _, value, _ in report["rows"]}
        data["rates"] = {key: rate for key, _, _, rate in report["rows"] if rate is not None}
        data["top_links"] = [
            {"url": link.url, "clicks": link.clicks_total, "unique_clicks": link.clicks_unique}
            for link in campaign_top_links(campaign)
        ]
        data["bounces_soft"] = stats.bounces_soft
        return Response(data)


class DomainViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.DomainSerializer
    queryset = SendingDomain.objects.all()
    action_permissions = {"verify": ["domains.add_sendingdomain"]}

    def perform_create(self, serializer):
        serializer.instance = domain_create(
            domain=serializer.validated_data["domain"], user=_acting_user(self.request)
        )

    @extend_schema(request=None, responses=s.DomainSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        return Response(s.DomainSerializer(domain_verify(sending_domain=self.get_object())).data)


class MemberViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.MemberSerializer
    queryset = User.objects.prefetch_related("groups")


class InvitationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Pending invitations; POST invites someone by email with a role (they get a link)."""

    serializer_class = s.InvitationOutSerializer
    queryset = invitation_list_pending().select_related("invited_by")
    action_permissions = {
        "create": ["accounts.add_invitation"],
        "list": ["accounts.view_invitation"],
    }

    def get_queryset(self):
        return invitation_list_pending().select_related("invited_by")

    @extend_schema(request=s.InvitationSerializer, responses={201: s.InvitationOutSerializer})
    def create(self, request):
        serializer = s.InvitationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _link = invitation_create(
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            actor=request.user,
        )
        return Response(s.InvitationOutSerializer(invitation).data, status=status.HTTP_201_CREATED)


class SubscriptionView(APIView):
    """The workspace's plan and usage: Owners only, like the console's Billing page."""

    permission_classes = [OwnerOnly]

    @extend_schema(responses=s.SubscriptionSerializer)
    def get(self, request):
        return Response(_subscription())


class PlansView(APIView):
    """The plans a workspace can choose (limits: null means unlimited)."""

    required_permissions: list[str] = []

    @extend_schema(responses=s.PlanSerializer(many=True))
    def get(self, request):
        return Response(s.PlanSerializer(plan_list(offered_only=True), many=True).data)


def _subscription() -> dict:
    summary = billing_summary(current_tenant())
    limits = summary["limits"]
    return {
        "plan": summary["plan"],
        "status": summary["status"],
        "trial_ends_at": summary["trial_ends_at"],
        "read_only": summary["read_only"],
        "contact_limit": limits["contacts"]["limit"],
        "contacts": limits["contacts"]["used"],
        "monthly_send_limit": limits["monthly_sends"]["limit"],
        "sends_this_month": limits["monthly_sends"]["used"],
        "seat_limit": limits["seats"]["limit"],
        "seats": limits["seats"]["used"],
        "sender_domain_limit": limits["sender_domains"]["limit"],
        "sender_domains": limits["sender_domains"]["used"],
        "api_access": summary["api_access"],
    }


class DashboardView(APIView):
    required_permissions = ["contacts.view_contact", "campaigns.view_campaign"]

    @extend_schema(responses=s.DashboardSerializer)
    def get(self, request):
        data = workspace_dashboard(
            current_schema(), allowance(Limit.MONTHLY_SENDS, current_tenant())
        )
        return Response(
            {
                "contacts": data["totals"]["contacts"],
                "subscribed": data["totals"]["subscribed"],
                "sends_this_month": data["sends"],
                "monthly_send_limit": data["send_limit"],
                "campaigns": data["campaigns"],
            }
        )


@extend_schema(
    parameters=[
        OpenApiParameter("campaign", int),
        OpenApiParameter("type", str, enum=[t.value for t in EmailEvent.Type]),
    ]
)
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.EventSerializer
    queryset = EmailEvent.objects.all()
    required_permissions = ["campaigns.view_campaign"]

    def get_queryset(self):
        queryset = EmailEvent.objects.all()
        campaign = _id_param(self.request, "campaign")
        if campaign is not None:
            queryset = queryset.filter(campaign_id=campaign)
        event_type = _choice_param(self.request, "type", EmailEvent.Type.values)
        if event_type is not None:
            queryset = queryset.filter(type=event_type)
        return queryset
