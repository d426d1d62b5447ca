"""Bulk writes of many screening rows: PostgreSQL COPY, Django's bulk_create and bulk_update elsewhere.

A catch-up night writes hundreds of thousands of risk scores. ``bulk_create`` on PostgreSQL
sends each column as an array that psycopg quotes element by element in Python (with
client-side binding, Django's default), which cost more than the scoring itself. COPY streams
the rows instead, into a temporary table first so that ``ON CONFLICT DO NOTHING`` keeps
``bulk_create(ignore_conflicts=True)``'s meaning (a score a concurrent task already wrote
wins). Four statements per call, whatever the number of rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from operator import attrgetter

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKey,
    IntegerField,
    JSONField,
    Lookup,
    Model,
    Q,
)

__all__ = ["delete_by_pk", "insert_ignoring_conflicts", "insert_with_keys", "update_by_pk", "among", "int_array"]


class _AnyOf(Lookup):
    """``field = ANY(%s)`` with the values as one array parameter (PostgreSQL)."""

    lookup_name = "cadence_any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [int_array(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs}::bigint[])", [*lhs_params, *rhs_params]


def int_array(values: Sequence[int]) -> str:
    """Integer keys as one PostgreSQL array literal (``'{1,2,3}'``, cast with ``::bigint[]``): psycopg quotes a
    Python list element by element on the client, which cost a catch-up night seconds per hundred thousand keys."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


IntegerField.register_lookup(_AnyOf)


def among(name: str, values: Sequence[int]) -> Q:
    """``Q(<name>__in=values)`` for many integer keys: on PostgreSQL the keys go as one array, because
    psycopg composes a query with tens of thousands of ``IN`` placeholders in Python, which cost a
    catch-up night seconds."""
    return Q(**{f"{name}__{'cadence_any' if connection.vendor == 'postgresql' else 'in'}": list(values)})


def _json_text(field: JSONField) -> Callable[[object], str | None]:
    """A JSON field's value as COPY takes it: text, as the field's encoder writes it."""
    encoder = field.encoder
    return lambda value: None if value is None else json.dumps(value, cls=encoder)


def _preparer(field) -> Callable[[Model], object]:
    """How one field's value goes into COPY: JSON as text (:func:`_json_text`), ``auto_now``
    and ``auto_now_add`` stamped as a save stamps them, a plain attribute (foreign keys by id) otherwise;
    any other field kind is prepared by Django as for a save."""
    if isinstance(field, JSONField):
        text, value = _json_text(field), attrgetter(field.attname)
        return lambda obj: text(value(obj))
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda obj: field.pre_save(obj, True)
    if isinstance(field, (ForeignKey, CharField, BooleanField, FloatField, IntegerField, DateTimeField)):
        return attrgetter(field.attname)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


def _copy(cursor, table: str, columns: str, rows: Iterable[Sequence]) -> None:
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_rows(cursor, table: str, fields, objs: Sequence[Model]) -> None:
    """COPY model objects, each field prepared as for a save (:func:`_preparer`)."""
    prepare = [_preparer(f) for f in fields]
    _copy(cursor, table, ", ".join(connection.ops.quote_name(f.column) for f in fields),
          ([prep(obj) for prep in prepare] for obj in objs))


@contextmanager
def _staging(cursor, table: str, columns: str, name: str):
    """A temporary table with these columns' types and nothing else (no keys, defaults or constraints),
    dropped after use (and with the transaction, if it fails)."""
    staging = connection.ops.quote_name(name)
    cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {columns} FROM {table} WITH NO DATA")
    yield staging
    cursor.execute(f"DROP TABLE {staging}")


def insert_with_keys(model: type[Model], objs: Sequence[Model], *, batch_size: int = 2000) -> list[Model]:
    """Insert ``objs`` (unsaved) and give each its primary key, as ``bulk_create`` does on PostgreSQL: there the
    keys are drawn from the table's sequence first and the rows go in by COPY (baseline snapshots carry a JSON
    payload each, which ``bulk_create`` sends quoted value by value)."""
    if not objs:
        return list(objs)
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=batch_size)
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, len(objs)])
        for obj, (key,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = key
            obj._state.adding = False
        _copy_rows(cursor, table, model._meta.concrete_fields, objs)
    return list(objs)


def insert_ignoring_conflicts(model: type[Model], objs: Sequence[Model], *, batch_size: int = 2000) -> None:
    """Insert ``objs`` (unsaved, no primary key) and skip those a unique constraint refuses.

    Fields are prepared as Django prepares them for a save (``auto_now``, JSON, foreign keys), so
    the stored rows are the ones ``bulk_create(objs, ignore_conflicts=True)`` would store.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size, ignore_conflicts=True)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with (transaction.atomic(), connection.cursor() as cursor,
          _staging(cursor, table, columns, f"cadence_copy_{model._meta.db_table}") as staging):
        _copy_rows(cursor, staging, fields, objs)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT DO NOTHING")


def delete_by_pk(model: type[Model], pks: Sequence[int], *, batch_size: int = 5000) -> None:
    """Delete these rows of a model nothing refers to: on PostgreSQL in one statement (the keys as one
    array), elsewhere in batches of ``batch_size``."""
    if not pks:
        return
    if connection.vendor != "postgresql":
        for start in range(0, len(pks), batch_size):
            model.objects.filter(pk__in=pks[start:start + batch_size]).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} "
                       f"WHERE {connection.ops.quote_name(model._meta.pk.column)} = ANY(%s::bigint[])", [int_array(pks)])


def update_by_pk(model: type[Model], rows: Sequence[tuple], fields: Sequence[str], *, batch_size: int = 2000,
                 merge: Sequence[str] = ()) -> None:
    """Set ``fields`` of many rows, each given as ``(pk, value, ...)`` in the order of ``fields`` (JSON fields
    as Python values): on PostgreSQL by COPY into a temporary table and one ``UPDATE ... FROM`` (a night after
    a new model changes a few columns of hundreds of thousands of scores), elsewhere by ``bulk_update``. The
    JSON object fields named in ``merge`` are merged into the stored object (its other keys stand) instead."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        stored = ({row[0]: row[1:] for row in model.objects.filter(pk__in=[r[0] for r in rows]).values_list(
            "pk", *merge)} if merge else {})
        rows = [(row[0], *((dict(stored[row[0]][list(merge).index(f)] or {}) | value) if f in merge else value
                           for f, value in zip(fields, row[1:], strict=True))) for row in rows]
        objs = [model(pk=row[0], **dict(zip(fields, row[1:], strict=True))) for row in rows]
        model.objects.bulk_update(objs, list(fields), batch_size=batch_size)
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = [quote(f.column) for f in model_fields]
    texts = [(i, _json_text(f)) for i, f in enumerate(model_fields, 1) if isinstance(f, JSONField)]
    if texts:
        rows = [list(row) for row in rows]
        for row in rows:
            for i, text in texts:
                row[i] = text(row[i])
    listed = ", ".join([pk, *columns])
    with (transaction.atomic(), connection.cursor() as cursor,
          _staging(cursor, table, listed, f"cadence_update_{model._meta.db_table}") as staging):
        _copy(cursor, staging, listed, rows)
        assignments = ", ".join(f"{column} = COALESCE({table}.{column}, '{{}}'::jsonb) || staged.{column}"
                                if name in merge else f"{column} = staged.{column}"
                                for name, column in zip(fields, columns, strict=True))
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {staging} AS staged WHERE {table}.{pk} = staged.{pk}")
