from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.domains.models import SendingDomain
from engagex.domains.services import expected_records
from tenants.models import Tenant
from tenants.selectors import workspace_url
from tenants.services import public_tenant_ensure, tenant_create


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

        platform_url = f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{settings.SITE_PORT}/admin/"
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Platform admin:  {platform_url}")
        self.stdout.write(f"                   {admin_email} / {admin_password}")
        self.stdout.write(f"  Demo workspace:  {workspace_url(demo, '/admin/')}")
        self.stdout.write(f"                   {owner_email} / {owner_password}")
        self.stdout.write(
            "  Sender domain:   demo.localhost (marked verified; campaigns go to .local/mail)"
        )
