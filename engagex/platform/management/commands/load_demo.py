from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.campaigns.models import Campaign
from engagex.contacts.models import Contact, ContactGroup, ContactStatus
from engagex.contacts.services.contacts import contact_create
from engagex.domains.models import SendingDomain
from engagex.domains.services import expected_records
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.services import template_create
from engagex.platform.provisioning import public_tenant_ensure, tenant_create
from tenants.models import Tenant
from tenants.selectors import platform_url, workspace_url


class Command(BaseCommand):
    help = "Create the demo platform superuser and the `demo` workspace (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Demo data has well-known passwords: refusing with DEBUG off.")
        admin_email = "admin@engagex.localhost"
        admin_password = "engagex-admin"  # noqa: S105 - demo only, printed below
        owner_email = "owner@demo.localhost"
        owner_password = "engagex-demo"  # noqa: S105

        public_tenant_ensure()
        with schema_context("public"):
            if not User.objects.filter(email=admin_email).exists():
                User.objects.create_superuser(
                    admin_email, admin_password, full_name="Platform Admin"
                )
        demo = Tenant.objects.filter(slug="demo").first()
        if demo is None:
            demo = tenant_create(
                name="Demo Company",
                slug="demo",
                owner_email=owner_email,
                owner_name="Demo Owner",
                owner_password=owner_password,
                send_invitation=False,
            ).tenant

        with schema_context(demo.schema_name):
            # Demo only: marked verified without DNS, so the demo workspace can send to files.
            SendingDomain.objects.update_or_create(
                domain="demo.localhost",
                defaults={
                    "status": SendingDomain.Status.VERIFIED,
                    "records": expected_records("demo.localhost"),
                    "verified_at": timezone.now(),
                    "dns_check_exempt": True,
                },
            )

            sample = not (Contact.objects.exists() or EmailTemplate.objects.exists())
            if sample:
                _demo_content(owner=User.objects.get(email=owner_email))

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Platform admin:  {platform_url('/admin/')}")
        self.stdout.write(f"                   {admin_email} / {admin_password}")
        self.stdout.write(f"  Demo workspace:  {workspace_url(demo, '/admin/')}")
        self.stdout.write(f"                   {owner_email} / {owner_password}")
        self.stdout.write(
            "  Sender domain:   demo.localhost (marked verified; campaigns go to .local/mail)"
        )
        if sample:
            self.stdout.write(
                "  Sample content:  40 contacts in 2 lists, a template and a draft campaign"
            )


FIRST_NAMES = ["Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas"]
LAST_NAMES = ["Silva", "Okafor", "Martin", "Patel"]


def _demo_content(*, owner: User) -> None:
    """Something to try on a first run: contacts, lists, a template, a draft campaign.

    Only for a workspace with neither contacts nor templates, so a rerun or a user's own
    data is never touched. Made through the same services as the admin.
    """
    newsletter = ContactGroup.objects.create(
        name="Newsletter",
        description="Our monthly news: what we shipped and what is coming.",
        opt_in=ContactGroup.OptIn.DOUBLE,
        visibility=ContactGroup.Visibility.PUBLIC,
    )
    ContactGroup.objects.create(
        name="Product updates",
        description="A short note when a feature you use changes.",
        visibility=ContactGroup.Visibility.PUBLIC,
    )
    customers = ContactGroup.objects.create(name="Customers")
    for number in range(40):
        first, last = FIRST_NAMES[number % 10], LAST_NAMES[number // 10]
        status = ContactStatus.SUBSCRIBED
        if number in (7, 23):
            status = ContactStatus.UNSUBSCRIBED
        elif number == 31:
            status = ContactStatus.BOUNCED
        contact_create(
            email=f"{first.lower().replace('é', 'e')}.{last.lower()}@example.com",
            groups=[newsletter, *([customers] if number % 2 else [])],
            source="demo data",
            first_name=first,
            last_name=last,
            status=status,
            attributes={"plan": "pro" if number % 3 == 0 else "basic", "city": "Lisbon"},
        )
    template = template_create(
        name="Monthly newsletter",
        subject='What\'s new this month, {{ contact.first_name|default:"friend" }}',
        preheader="Three things we shipped, and one we are working on.",
        description="Sample template with merge tags, a default and a condition.",
        html_body=(
            '<h1 style="font-family:sans-serif">{{ workspace.name }} monthly</h1>'
            '<p>Hi {{ contact.first_name|default:"there" }},</p>'
            "<p>Here is what changed this month.</p>"
            "{% if contact.attributes.plan == 'pro' %}"
            "<p><strong>Pro tip:</strong> your plan includes priority support.</p>"
            "{% endif %}"
            '<p><a href="{{ view_in_browser_url }}">View in your browser</a> · '
            '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
        ),
        user=owner,
    )
    campaign = Campaign.objects.create(
        name="Monthly newsletter — sample",
        template=template,
        from_name="Demo Company",
        from_email="news@demo.localhost",
        reply_to="hello@demo.localhost",
        created_by=owner,
    )
    campaign.include_groups.add(newsletter)
