from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from engagex.platform.provisioning import tenant_create
from tenants.selectors import workspace_url


class Command(BaseCommand):
    help = "Provision a workspace (clones the template schema) and invite its Owner."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", default="")
        parser.add_argument("--no-email", action="store_true", help="Do not email the invitation.")

    def handle(self, *args, **options):
        try:
            provisioned = tenant_create(
                name=options["name"],
                slug=options["slug"],
                owner_email=options["owner_email"],
                owner_name=options["owner_name"],
                send_invitation=not options["no_email"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(_messages(error))) from error
        tenant = provisioned.tenant
        self.stdout.write(self.style.SUCCESS(f"Workspace {tenant.slug} created."))
        self.stdout.write(f"  Console:      {workspace_url(tenant, '/admin/')}")
        self.stdout.write(f"  Owner:        {provisioned.owner.email}")
        self.stdout.write(f"  Set password: {provisioned.set_password_url}")


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [f"{field}: {msg}" for field, msgs in error.message_dict.items() for msg in msgs]
    return error.messages
