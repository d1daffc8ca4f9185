"""Merging two duplicate records: every row that points at the removed one is moved.

The references are read from the schema, so a table a later domain adds that points at
organisations or contacts is moved too, without touching this code.
"""

import sqlalchemy as sa

from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db


def merge_records(keep, remove, *, fill_fields=(), actor):
    """Move every reference from `remove` to `keep`, fill `keep`'s empty `fill_fields` from
    `remove`, and soft-delete `remove`. Returns {table: rows moved}."""
    if keep.id == remove.id or type(keep) is not type(remove):
        raise ValueError("merge needs two different records of the same kind")
    db.session.flush()
    target = type(keep).__table__
    moved = {}
    for table, column in _references_to(target):
        _drop_rows_that_would_collide(table, column, keep.id, remove.id, target)
        result = db.session.execute(
            sa.update(table).where(column == remove.id).values({column.name: keep.id})
        )
        if result.rowcount:
            moved[table.name] = moved.get(table.name, 0) + result.rowcount
    # The ORM must not keep stale copies of the rows changed behind its back.
    db.session.expire_all()

    filled = {}
    for name in fill_fields:
        value = getattr(remove, name)
        if getattr(keep, name) in (None, "") and value not in (None, ""):
            # Clear it first, so unique values (an organisation number) can move.
            setattr(remove, name, None)
            db.session.flush()
            setattr(keep, name, value)
            filled[name] = [None, audit._jsonable(value)]

    remove.deleted_at = utcnow()
    remove.deleted_by_id = getattr(actor, "id", None)
    audit.record(
        keep,
        "merge",
        actor=actor,
        changes={"merged_from": [None, f"#{remove.id}"], **filled},
    )
    audit.record(remove, "merge", actor=actor, changes={"merged_into": [None, f"#{keep.id}"]})
    return moved


def count_references(record):
    """[(table, column, rows)] of the rows pointing at `record` that a merge would move."""
    counts = []
    for table, column in _references_to(type(record).__table__):
        rows = db.session.scalar(
            sa.select(sa.func.count()).select_from(table).where(column == record.id)
        )
        if rows:
            counts.append((table, column, rows))
    return counts


def _references_to(target):
    """(table, column) for every foreign-key column in the schema that points at `target`."""
    for table in db.metadata.sorted_tables:
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is target and table is not target:
                yield table, foreign_key.parent


def _drop_rows_that_would_collide(table, column, keep_id, remove_id, target):
    """Delete the removed record's rows that, once moved, would duplicate a row of the kept
    one (a unique key) or point at the kept record twice (a membership of itself)."""
    for columns in _unique_column_sets(table):
        if column not in columns:
            continue
        others = [other for other in columns if other is not column]
        twin = table.alias("twin")
        duplicate = sa.exists().where(
            twin.c[column.name] == keep_id,
            *[twin.c[other.name] == table.c[other.name] for other in others],
        )
        db.session.execute(sa.delete(table).where(column == remove_id, duplicate))
    for foreign_key in table.foreign_keys:
        other = foreign_key.parent
        if other is not column and foreign_key.column.table is target:
            db.session.execute(
                sa.delete(table).where(
                    sa.or_(
                        sa.and_(column == remove_id, other == keep_id),
                        sa.and_(column == keep_id, other == remove_id),
                    )
                )
            )


def _unique_column_sets(table):
    sets = []
    if len(table.primary_key.columns) > 1:
        sets.append(list(table.primary_key.columns))
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            sets.append(list(constraint.columns))
    return sets
