"""Migrate 200 workspace schemas: django-tenants' standard vs multiprocessing executor.

Creates 200 workspaces (cloned from the template), then times, over all of them:
`setup_platform` when nothing is pending (our per-schema check), `migrate_schemas` with
nothing to apply, and a real migration (the latest `domains` migration, unapplied first)
with each executor.
"""

import argparse
import time

from _common import bench_database, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspaces", type=int, default=200)
    count = parser.parse_args().workspaces
    with bench_database("engagex_bench_migrate"):
        from django.core.management import call_command

        from engagex.platform.provisioning import tenant_create

        start = time.perf_counter()
        for i in range(count):
            tenant_create(
                name=f"W{i}", slug=f"w{i:04d}", owner_email=f"o{i}@w.example", send_invitation=False
            )
        created = time.perf_counter() - start

        def migrate(executor, *target):
            call_command(
                "migrate_schemas", *target, tenant=True, executor=executor,
                interactive=False, verbosity=0,
            )  # fmt: skip

        rows = [
            (
                "setup_platform, nothing pending (ours)",
                timed(call_command, "setup_platform", verbosity=0)[0],
            ),
            ("migrate_schemas, nothing to apply, standard", timed(migrate, "standard")[0]),
            (
                "migrate_schemas, nothing to apply, multiprocessing",
                timed(migrate, "multiprocessing")[0],
            ),
        ]
        migrate("multiprocessing", "domains", "0001")
        rows.append(("apply 1 migration, standard", timed(migrate, "standard")[0]))
        migrate("multiprocessing", "domains", "0001")
        rows.append(("apply 1 migration, multiprocessing", timed(migrate, "multiprocessing")[0]))
    print(f"{count} workspaces created (cloned) in {created:.1f}s ({created / count:.3f}s each)")
    print(f"{'run over all workspaces':<52}{'seconds':>9}")
    for label, seconds in rows:
        print(f"{label:<52}{seconds:>9.1f}")


if __name__ == "__main__":
    main()
