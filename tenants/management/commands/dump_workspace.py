from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.models import Tenant

# The workspace's own data; permissions, content types and sessions are rebuilt per schema.
WORKSPACE_APPS = [
    "accounts.user", "auth.group", "notifications", "contacts", "email_templates",
    "campaigns", "analytics", "domains", "api",
]  # fmt: skip


class Command(BaseCommand):
    help = "Write one workspace's data to a JSON fixture (make dump-db writes demo.json)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--output", default="demo.json")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No workspace with the slug {options['slug']!r}.")
        with schema_context(tenant.schema_name):
            call_command(
                "dumpdata",
                *WORKSPACE_APPS,
                # Derived from the recipients: their triggers rebuild it as they load.
                exclude=["campaigns.contactengagement"],
                natural_foreign=True,
                natural_primary=True,
                indent=1,
                output=options["output"],
                verbosity=0,
            )
        self.stdout.write(f"Workspace {tenant.slug} written to {options['output']}.")
