"""One way to make a row for every model an admin console lists (the admin smoke test's map).

Each entry takes the person who opens the pages (some admins list only that person's rows,
e.g. notifications) and returns a row the admin must show them. Workspace entries run inside
the workspace's schema. A model registered on a console without an entry here fails the smoke
test: add one when you register an admin.
"""

from collections.abc import Callable
from itertools import count

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django_q.models import Failure, OrmQ, Schedule, Success
from djstripe import models as djstripe_models

from engagex.accounts import roles
from engagex.accounts.models import Invitation, Role, User, WorkspaceSecurity
from engagex.accounts.services import roles_sync, user_create
from engagex.accounts.services.invitations import invitation_create
from engagex.accounts.services.security import workspace_security_update
from engagex.api.models import ApiKey
from engagex.api.services import api_key_create
from engagex.billing.models import BillingAccount, Plan, PlanChange, UsagePeriod
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import AttributeDefinition, Contact, ContactGroup, ImportJob
from engagex.contacts.services.importing import import_job_create
from engagex.core.audit import AuditVerb, audit_record
from engagex.domains.models import SendingDomain
from engagex.email_templates.models import BrandKit, EmailTemplate, MediaAsset
from engagex.email_templates.services.brand import brand_kit_update
from engagex.email_templates.services.media import media_upload
from engagex.notifications.models import Notification
from engagex.segments.models import Segment
from engagex.subscriptions.models import SignupForm
from tenants.models import Domain, Tenant
from tests.factories import stripe, tasks
from tests.factories.accounts import (
    AuthenticatorFactory,
    EmailAddressFactory,
    NotificationFactory,
    SocialAccountFactory,
    SocialAppFactory,
    SocialTokenFactory,
    UserFactory,
)
from tests.factories.billing import PlanChangeFactory, PlanFactory, UsagePeriodFactory
from tests.factories.campaigns import CampaignFactory, CampaignRecipientFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.factories.domains import SendingDomainFactory
from tests.factories.email_templates import EmailTemplateFactory
from tests.factories.subscriptions import signup_form_make
from tests.factories.tenants import DomainFactory, TenantFactory

RowFactory = Callable[[User], Model]
_n = count(1)


def _role(user: User) -> Role:
    """The four roles are seeded in every schema (and the admin lists only those)."""
    roles_sync()
    return Role.objects.get(name=roles.VIEWER)


def _import_job(user: User) -> ImportJob:
    upload = SimpleUploadedFile("people.csv", b"email,first_name\nada@example.com,Ada\n")
    return import_job_create(upload=upload, created_by=user)


def _media_asset(user: User) -> MediaAsset:
    from tests.email_templates.images import image_bytes

    upload = SimpleUploadedFile("smoke.png", image_bytes(), "image/png")
    return media_upload(files=[upload], user=user)[0]


PLATFORM_ROWS: dict[type[Model], RowFactory] = {
    Tenant: lambda user: TenantFactory(),
    Domain: lambda user: DomainFactory(),
    Schedule: lambda user: tasks.ScheduleFactory(),
    Success: lambda user: tasks.SuccessFactory(),
    Failure: lambda user: tasks.FailureFactory(),
    OrmQ: lambda user: tasks.queued_task(),
    EmailAddress: lambda user: EmailAddressFactory(),
    Authenticator: lambda user: AuthenticatorFactory(),
    SocialApp: lambda user: SocialAppFactory(),
    SocialToken: lambda user: SocialTokenFactory(),
    SocialAccount: lambda user: SocialAccountFactory(),
    User: lambda user: UserFactory(),
    Notification: lambda user: NotificationFactory(recipient=user),
    Plan: lambda user: PlanFactory(),
    BillingAccount: lambda user: BillingAccount.objects.get(tenant=TenantFactory()),
    PlanChange: lambda user: PlanChangeFactory(),
    UsagePeriod: lambda user: UsagePeriodFactory(),
    djstripe_models.Customer: lambda user: stripe.CustomerFactory(),
    djstripe_models.Subscription: lambda user: stripe.SubscriptionFactory(),
    djstripe_models.Invoice: lambda user: stripe.InvoiceFactory(),
    djstripe_models.Price: lambda user: stripe.PriceFactory(),
    djstripe_models.Product: lambda user: stripe.ProductFactory(),
    djstripe_models.Event: lambda user: stripe.EventFactory(),
    djstripe_models.WebhookEventTrigger: lambda user: stripe.WebhookEventTriggerFactory(),
}

WORKSPACE_ROWS: dict[type[Model], RowFactory] = {
    LogEntry: lambda user: audit_record(user=user, verb=AuditVerb.EXPORTED, model=Contact),
    User: lambda user: user_create(email=f"member{next(_n)}@alpha.example", role=roles.MARKETER),
    Role: _role,
    Invitation: lambda user: invitation_create(
        email=f"invitee{next(_n)}@alpha.example", role=roles.VIEWER, actor=user
    )[0],
    WorkspaceSecurity: lambda user: workspace_security_update(require_mfa=False),
    Notification: lambda user: NotificationFactory(recipient=user),
    Contact: lambda user: ContactFactory(),
    ContactGroup: lambda user: ContactGroupFactory(),
    ImportJob: _import_job,
    AttributeDefinition: lambda user: AttributeDefinition.objects.create(
        name=f"attribute{next(_n)}", type="number"
    ),
    Segment: lambda user: Segment.objects.create(name=f"Segment {next(_n)}"),
    EmailTemplate: lambda user: EmailTemplateFactory(),
    MediaAsset: _media_asset,
    BrandKit: lambda user: brand_kit_update(user=user, primary_colour="#123456"),
    Campaign: lambda user: CampaignFactory(),
    CampaignRecipient: lambda user: CampaignRecipientFactory(),
    SendingDomain: lambda user: SendingDomainFactory(),
    ApiKey: lambda user: api_key_create(name="Smoke test", role=roles.VIEWER, user=user)[0],
    SignupForm: lambda user: signup_form_make(),
}
