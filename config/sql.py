"""PostgreSQL shapes for the drain's batch statements, with portable fallbacks elsewhere.

A batch of a thousand statuses would otherwise send a thousand placeholders per IN list and
twelve thousand per bulk UPDATE; building, quoting and parsing those statements costs more
than running them. On PostgreSQL each list travels instead as one array parameter, in
binary (psycopg's text quoting of a 1,000-element array costs milliseconds), through a
server-side-binding cursor on Django's own connection, so inside its transaction.
"""

import psycopg
from django.db import connection, models
from django.db.models.expressions import RawSQL


def column(model: type[models.Model], name: str) -> str:
    """The database column of a concrete field (typed: `_meta.get_field` may return a
    relation or a generic key, which have none)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def in_array(values, db_type: str):
    """The right-hand side of `field__in=`: one array parameter on PostgreSQL."""
    values = list(values)
    if is_postgres():
        return RawSQL(f"SELECT unnest(%s::{db_type}[])", [values])
    return values


def execute(sql: str, params: list) -> list[tuple]:
    """Run `sql` (with %b placeholders) on Django's connection; the rows it returns."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)  # binary results load faster too
        return cursor.fetchall() if cursor.description else []


def update_from_arrays(
    model, columns: dict[str, str], rows: list[tuple], *, constants: dict | None = None
) -> None:
    """UPDATE `model` rows by primary key: `rows` hold the key, then `columns` (name: SQL
    type) in order; `constants` are set on every row. One statement, one array per column."""
    qn = connection.ops.quote_name
    constants = constants or {}
    names = ["id", *columns]
    types = ["bigint", *columns.values()]
    arrays = [list(column) for column in zip(*rows, strict=True)]
    assignments = [f"{qn(c)} = v.{qn(c)}" for c in columns]
    assignments += [f"{qn(c)} = %b" for c in constants]
    unnest = ", ".join(f"%b::{t}[]" for t in types)
    sql = (
        f"UPDATE {qn(model._meta.db_table)} AS t SET {', '.join(assignments)} "
        f"FROM unnest({unnest}) AS v({', '.join(qn(n) for n in names)}) WHERE t.id = v.id"
    )
    # The SET placeholders come before the FROM ones in the statement.
    execute(sql, [*constants.values(), *arrays])


def delete_in_batches(queryset, batch_size: int) -> int:
    """Delete `queryset` a batch of ids at a time (retention jobs: short locks, short
    transactions); returns how many rows went."""
    total = 0
    while True:
        ids = list(queryset.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return total
        queryset.model.objects.filter(id__in=ids).delete()
        total += len(ids)
