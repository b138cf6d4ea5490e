from django.core.management.base import BaseCommand

from engagex.billing.services.plans import plans_seed


class Command(BaseCommand):
    help = "Create the default plans (Free Trial, Basic, Pro, Premium) that do not exist yet."

    def handle(self, *args, **options):
        created = plans_seed()
        self.stdout.write(f"Plans created: {', '.join(created) or 'none (all exist)'}")
