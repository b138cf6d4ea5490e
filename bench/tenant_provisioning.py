"""Time creating a workspace: cloning the template schema vs running every migration.

Prints the median of 20 clone-based creations beside the median of 3 full-migration ones,
both through `engagex.platform.provisioning.tenant_create`, in one run on one database.
"""

import statistics

from _common import bench_database, timed

CLONES = 20
MIGRATIONS = 3


def main():
    with bench_database():
        from django.test import override_settings

        from engagex.platform.provisioning import tenant_create

        def create(slug):
            return tenant_create(
                name=slug, slug=slug, owner_email=f"owner@{slug}.example", send_invitation=False
            )

        clone_times = [timed(create, f"clone-{i:02d}")[0] for i in range(CLONES)]
        with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
            migrate_times = [timed(create, f"migrate-{i}")[0] for i in range(MIGRATIONS)]

    clone = statistics.median(clone_times)
    migrate = statistics.median(migrate_times)
    print(f"{'path':<28}{'runs':>6}{'median s':>12}{'min s':>10}{'max s':>10}")
    print(
        f"{'clone template (ours)':<28}{CLONES:>6}{clone:>12.3f}"
        f"{min(clone_times):>10.3f}{max(clone_times):>10.3f}"
    )
    print(
        f"{'run all migrations (stock)':<28}{MIGRATIONS:>6}{migrate:>12.3f}"
        f"{min(migrate_times):>10.3f}{max(migrate_times):>10.3f}"
    )
    print(f"speed-up: {migrate / clone:.1f}x")


if __name__ == "__main__":
    main()
