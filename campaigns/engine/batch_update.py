"""The engine's batch UPDATE: one statement per batch of recipients on PostgreSQL."""

import re

from django.db import connection

from ..models import Recipient

TABLE = Recipient._meta.db_table

_VALUE = re.compile(r"\bv\.(\w+)")


def update_each(c, *, set_sql: str, where_sql: str, columns, rows: list[tuple]) -> int:
    """For each row of `rows` (values in the order of `columns`, `id` first), UPDATE the
    recipient with that id: SET `set_sql` WHERE `where_sql`, both naming the row's values
    `v.<column>`. Returns how many recipients changed.

    PostgreSQL: one statement for the whole batch (unnest of one array per column), so a
    batch costs one round trip and one plan whatever its size. Elsewhere one statement per
    row (executemany).
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        update_each_returning(
            c, set_sql=set_sql, where_sql=where_sql, columns=columns, rows=rows, returning=None
        )
        return c.rowcount
    index = {name: i for i, (name, _) in enumerate(columns)}
    order = [index[name] for name in _VALUE.findall(set_sql)] + [0]
    order += [index[name] for name in _VALUE.findall(where_sql)]
    c.executemany(
        f"UPDATE {TABLE} SET {_VALUE.sub('%s', set_sql)} "
        f"WHERE id = %s AND {_VALUE.sub('%s', where_sql)}",
        [[row[i] for i in order] for row in rows],
    )
    return c.rowcount


def update_each_returning(
    c, *, set_sql: str, where_sql: str, columns, rows: list[tuple], returning: str | None
) -> list[tuple]:
    """PostgreSQL's `update_each`, with a RETURNING list (it may name `v.<column>`)."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"%s::{pg_type}[]" for _, pg_type in columns)
    c.execute(
        f"""UPDATE {TABLE} SET {set_sql}
            FROM unnest({arrays}) AS v({names})
            WHERE {TABLE}.id = v.id AND {where_sql}
            {f"RETURNING {returning}" if returning else ""}""",
        [list(values) for values in zip(*rows, strict=True)],
    )
    return c.fetchall() if returning else []
