from django.core.management.base import BaseCommand

from engagex.platform.migrating import platform_migrate
from engagex.platform.provisioning import public_tenant_ensure


class Command(BaseCommand):
    help = (
        "Migrate the public schema, create/migrate the workspace template schema, migrate every "
        "workspace that is behind, and make sure the platform tenant and its domain exist."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--executor",
            default="multiprocessing",
            choices=["standard", "multiprocessing"],
            help="django-tenants executor for migrating many workspaces at once.",
        )
        parser.add_argument(
            "--sync-roles", action="store_true", help="Re-sync role permissions everywhere."
        )

    def handle(self, *args, **options):
        report = platform_migrate(
            executor=options["executor"],
            verbosity=options["verbosity"],
            sync_roles=options["sync_roles"],
        )
        public_tenant_ensure()
        self.stdout.write(
            "Platform ready: public {}, template {}, {} workspace(s) migrated.".format(
                "migrated" if report["public"] else "up to date",
                "migrated" if report["template"] else "up to date",
                report["workspaces"],
            )
        )
