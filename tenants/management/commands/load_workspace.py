from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import schema_context

from tenants.models import Tenant


class Command(BaseCommand):
    help = "Load a JSON fixture written by dump_workspace into a workspace (make load-db)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--input", default="demo.json")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No workspace with the slug {options['slug']!r}.")
        with schema_context(tenant.schema_name), transaction.atomic():
            call_command("loaddata", options["input"], verbosity=0)
        self.stdout.write(f"{options['input']} loaded into workspace {tenant.slug}.")
