from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import empty

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User
from engagex.analytics.models import EmailEvent
from engagex.billing.models import Plan
from engagex.campaigns.models import Campaign
from engagex.contacts.models import (
    Contact,
    ContactGroup,
    ContactStatus,
    ImportJob,
    ListConsent,
    Membership,
    MembershipStatus,
)
from engagex.contacts.services.contacts import email_is_valid, email_normalize
from engagex.domains.models import SendingDomain
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.selectors import contact_attribute_names
from engagex.email_templates.services import template_warnings
from engagex.segments.selectors import campaign_segments

CURRENT = [MembershipStatus.SUBSCRIBED, MembershipStatus.UNCONFIRMED]


class ContactSerializer(serializers.ModelSerializer):
    groups = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=ContactGroup.objects.all(),
        required=False,
        help_text="The lists the contact is on now (subscribed, or waiting to confirm); "
        "lists it unsubscribed from are in `memberships/`.",
    )

    class Meta:
        model = Contact
        fields = [
            "id", "email", "first_name", "last_name", "phone", "language", "timezone",
            "attributes", "status", "status_changed_at", "status_source", "consent_at",
            "consent_source", "groups", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status_changed_at", "status_source", "created_at", "updated_at"]

    def validate_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Custom attributes must be a JSON object."))
        return value

    def to_representation(self, instance):
        data = super().to_representation(instance)
        current = getattr(instance, "current_memberships", None)
        if current is None:
            current = instance.memberships.filter(status__in=CURRENT)
        data["groups"] = sorted(m.group_id for m in current)
        return data


class BulkContactSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=ContactStatus.choices, required=False)
    attributes = serializers.DictField(required=False)

    def validate_email(self, value):
        value = email_normalize(value)
        if not email_is_valid(value):
            raise serializers.ValidationError(
                _("“%(value)s” is not a valid email address.") % {"value": value}
            )
        return value


class BulkUpsertSerializer(serializers.Serializer):
    # many=True hands max_length to the ListSerializer it builds; the stubs omit it.
    contacts = BulkContactSerializer(many=True, allow_empty=False, max_length=1000)  # type: ignore[call-arg]

    def validate_contacts(self, items):
        seen = {}
        for index, item in enumerate(items):
            key = item["email"].lower()
            if key in seen:
                raise serializers.ValidationError(
                    _("contacts[%(index)s]: same email as contacts[%(first)s] (%(email)s).")
                    % {"index": index, "first": seen[key], "email": item["email"]}
                )
            seen[key] = index
        return items


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    erased = serializers.IntegerField(
        help_text="New addresses left out: erased at the person's request."
    )


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    update_existing = serializers.BooleanField(default=True)
    lists = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=ContactGroup.objects.all(),
        required=False,
        help_text="Put every imported contact on these lists (needs `list_consent`).",
    )
    groups = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=ContactGroup.objects.all(),
        required=False,
        help_text="Deprecated name of `lists`.",
    )
    list_consent = serializers.ChoiceField(
        choices=ListConsent.choices,
        required=False,
        allow_blank=True,
        help_text="Required with lists: `permission` (you have their permission to email "
        "them; recorded with each membership, with the key's creator and the time) or "
        "`double_opt_in` (members are added unconfirmed and each is emailed a confirmation "
        "link after the import).",
    )
    file_status = serializers.ChoiceField(
        choices=ImportJob.FileStatus.choices,
        required=False,
        allow_blank=True,
        help_text="Everyone in the file unsubscribed/bounced/complained; guessed from the "
        "file name when omitted (e.g. Mailchimp's unsubscribed_members_export_…).",
    )

    def validate(self, attrs):
        lists, groups = attrs.pop("lists", None) or [], attrs.pop("groups", None) or []
        if lists and groups:
            raise serializers.ValidationError(
                {"groups": [_("Give the lists once, as “lists” (“groups” is its old name).")]}
            )
        attrs["lists"] = lists or groups  # import_job_create asks for list_consent with them
        return attrs


class ImportJobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id", "original_name", "file_format", "status", "phase", "processed_rows",
            "total_rows", "progress_percent", "applied_through_row", "file_status", "counts",
            "error_message", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class GroupSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True)
    subscribed_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContactGroup
        fields = ["id", "name", "description", "member_count", "subscribed_count", "created_at"]
        read_only_fields = ["created_at"]


class ListCountsSerializer(serializers.Serializer):
    subscribed = serializers.IntegerField(source="subscribed_count")
    unconfirmed = serializers.IntegerField(source="unconfirmed_count")
    unsubscribed = serializers.IntegerField(source="unsubscribed_count")
    reachable = serializers.IntegerField(
        source="reachable_count",
        help_text="Subscribed members whose contact is subscribed too: whom a campaign reaches.",
    )
    total = serializers.IntegerField(source="member_count")


class ListSerializer(serializers.ModelSerializer):
    counts = ListCountsSerializer(source="*", read_only=True)

    class Meta:
        model = ContactGroup
        fields = ["id", "name", "description", "opt_in", "visibility", "counts", "created_at"]
        read_only_fields = ["created_at"]


class MembershipSerializer(serializers.ModelSerializer):
    list = serializers.IntegerField(source="group_id", read_only=True)
    list_name = serializers.CharField(source="group.name", read_only=True)
    email = serializers.CharField(source="contact.email", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id", "list", "list_name", "contact", "email", "status", "status_changed_at",
            "source", "consent_at", "consent_text", "consent_ip", "consent_user_agent",
            "confirmed_at", "confirm_ip", "confirm_user_agent",
        ]  # fmt: skip
        read_only_fields = fields


class _OptionalBooleanField(serializers.BooleanField):
    """A boolean that stays unset when a form post leaves it out (DRF reads that as False)."""

    default_empty_html = empty


class MemberRefSerializer(serializers.Serializer):
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.all(), required=False, help_text="The contact's id (or `email`)."
    )
    email = serializers.EmailField(max_length=254, required=False)

    def validate(self, attrs):
        if ("contact" in attrs) == ("email" in attrs):
            message = _("Give either “contact” (an id) or “email”, not both.")
            raise serializers.ValidationError({"contact": [message], "email": [message]})
        return attrs


class SubscribeSerializer(MemberRefSerializer):
    email = serializers.EmailField(
        max_length=254, required=False, help_text="A new address creates the contact."
    )
    double_opt_in = _OptionalBooleanField(
        required=False,
        help_text="Add them unconfirmed and email a confirmation link; default: the "
        "list's opt-in setting.",
    )
    consent_text = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, help_text="What they agreed to."
    )
    consent_ip = serializers.IPAddressField(
        required=False, allow_null=True, help_text="Where they agreed from."
    )


class ContactIdsSerializer(serializers.Serializer):
    contacts = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=10000)


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class TemplateSerializer(serializers.ModelSerializer):
    warnings = serializers.SerializerMethodField(
        help_text="Per field, merge tags no contact has, naming the closest known field."
    )

    class Meta:
        model = EmailTemplate
        fields = [
            "id", "name", "subject", "preheader", "html_body", "text_body", "description",
            "warnings", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]

    def get_warnings(self, obj) -> dict[str, list[str]]:
        if "attribute_names" not in self.context:  # one query for a whole page of templates
            self.context["attribute_names"] = contact_attribute_names()
        return template_warnings(template=obj, attribute_names=self.context["attribute_names"])


class SegmentIdsField(serializers.ListField):
    """A campaign's segments as ids. Only their shape is read here: which ids name segments
    of the workspace, and whether one is both sent to and excluded, the campaign services
    check (through the segments' audience source), as they do for the console."""

    def __init__(self, *, exclude: bool, **kwargs):
        self.exclude = exclude
        super().__init__(child=serializers.IntegerField(), required=False, **kwargs)

    def get_attribute(self, instance):
        # The list and detail views annotate the ids (one query for a page of campaigns).
        annotated = getattr(instance, f"{self.field_name}_ids", None)
        if annotated is not None:
            return sorted(annotated)
        if not instance.pk:
            return []
        return sorted(s.pk for s in campaign_segments(instance.pk, exclude=self.exclude))


class CampaignSerializer(serializers.ModelSerializer):
    include_groups = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ContactGroup.objects.all(), required=False
    )
    exclude_groups = serializers.PrimaryKeyRelatedField(
        many=True, queryset=ContactGroup.objects.all(), required=False
    )
    include_segments = SegmentIdsField(
        exclude=False,
        help_text="Ids of segments it also sends to: their subscribed contacts get it, with "
        "the subscribed members of `include_groups` (neither: every subscribed contact).",
    )
    exclude_segments = SegmentIdsField(
        exclude=True, help_text="Ids of segments whose contacts it leaves out."
    )
    in_flight = serializers.SerializerMethodField(
        help_text="Recipients handed to the ESP and not yet answered (a pause or cancel "
        "completes once this is 0)."
    )

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "template", "subject_override", "from_name", "from_email", "reply_to",
            "include_groups", "exclude_groups", "include_segments", "exclude_segments", "status",
            "send_at", "recipients_total", "in_flight", "started_at", "finished_at",
            "failure_reason", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "status", "send_at", "recipients_total", "started_at", "finished_at",
            "failure_reason", "created_at",
        ]  # fmt: skip

    def get_in_flight(self, campaign) -> int:
        if hasattr(campaign, "in_flight"):
            return campaign.in_flight
        from engagex.campaigns.services.state import campaign_in_flight

        return campaign_in_flight(campaign.pk) if campaign.pk else 0


class ScheduleSerializer(serializers.Serializer):
    send_at = serializers.DateTimeField()


class CampaignAnalyticsSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    opens_unique = serializers.IntegerField()
    opens_total = serializers.IntegerField()
    machine_opens = serializers.IntegerField()
    clicks_unique = serializers.IntegerField()
    clicks_total = serializers.IntegerField()
    bounces_hard = serializers.IntegerField()
    bounces_soft = serializers.IntegerField()
    complaints = serializers.IntegerField()
    unsubscribes = serializers.IntegerField()
    rates = serializers.DictField(child=serializers.FloatField(allow_null=True))
    top_links = serializers.ListField(child=serializers.DictField())


class DomainSerializer(serializers.ModelSerializer):
    class Meta:
        model = SendingDomain
        fields = [
            "id",
            "domain",
            "status",
            "records",
            "last_checked_at",
            "verified_at",
            "created_at",
        ]
        read_only_fields = ["status", "records", "last_checked_at", "verified_at", "created_at"]


class MemberSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    pending = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "role",
            "is_active",
            "pending",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields

    def get_role(self, obj) -> str | None:
        names = [g.name for g in obj.groups.all() if g.name in roles.ROLES]
        return names[0] if names else None

    def get_pending(self, obj) -> bool:
        return obj.last_login is None and not obj.has_usable_password()


class InvitationSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=[(r, r) for r in roles.ROLES])


class InvitationOutSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    invited_by: "serializers.SlugRelatedField[User]" = serializers.SlugRelatedField(
        slug_field="email", read_only=True
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class SubscriptionSerializer(serializers.Serializer):
    """The workspace's plan and usage; a null limit means unlimited."""

    plan = serializers.CharField()
    status = serializers.CharField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    # The field named `read_only` of the API; DRF's metaclass moves declared fields out of
    # the class, so `Field.read_only` (which the stubs see here) is untouched.
    read_only = serializers.BooleanField()  # type: ignore[assignment]
    contact_limit = serializers.IntegerField(allow_null=True)
    contacts = serializers.IntegerField()
    monthly_send_limit = serializers.IntegerField(allow_null=True)
    sends_this_month = serializers.IntegerField()
    seat_limit = serializers.IntegerField(allow_null=True)
    seats = serializers.IntegerField()
    sender_domain_limit = serializers.IntegerField(allow_null=True)
    sender_domains = serializers.IntegerField()
    api_access = serializers.BooleanField()


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = [
            "code", "name", "description", "monthly_price", "currency", "contact_limit",
            "monthly_send_limit", "seat_limit", "sender_domain_limit", "api_access",
        ]  # fmt: skip


class DashboardSerializer(serializers.Serializer):
    contacts = serializers.IntegerField()
    subscribed = serializers.IntegerField()
    sends_this_month = serializers.IntegerField()
    monthly_send_limit = serializers.IntegerField(allow_null=True)
    campaigns = serializers.ListField(child=serializers.DictField())


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = EmailEvent
        fields = [
            "id", "event_id", "type", "campaign_id", "recipient_id", "contact_id", "occurred_at",
            "url", "bounce_type", "reason", "machine_open",
        ]  # fmt: skip
        read_only_fields = fields
