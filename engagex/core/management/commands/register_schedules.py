from django.core.management.base import BaseCommand

from engagex.core.schedules import schedules_register


class Command(BaseCommand):
    help = "Create or update EngageX's django-q2 schedules (idempotent)."

    def handle(self, *args, **options):
        names = schedules_register()
        self.stdout.write(f"Schedules registered: {', '.join(names)}")
