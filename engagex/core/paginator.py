from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

EXACT_COUNT_BELOW = 100_000


class LargeTablePaginator(Paginator):
    """A changelist paginator that never counts a big table row by row.

    Unfiltered: PostgreSQL's statistics estimate (exact count only for small tables).
    Filtered: counts at most EXACT_COUNT_BELOW rows, so page links stop there.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        if not queryset.query.where:
            estimate = _estimate(queryset.model._meta.db_table)
            if estimate >= EXACT_COUNT_BELOW:
                return estimate
        return queryset.order_by()[:EXACT_COUNT_BELOW].count()


def _estimate(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        row = cursor.fetchone()
    return max(0, row[0]) if row else 0
