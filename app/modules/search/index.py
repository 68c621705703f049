"""The database objects of the full-text index, which live outside the models.

Migration 0004 creates them: on SQLite an external-content FTS5 table kept in sync by
triggers, on PostgreSQL a generated tsvector column with a GIN index. The models do not
declare them, so Alembic's comparison must look away from them (`include_name`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.environment import NameFilterParentNames, NameFilterType

FTS_TABLE = "messages_fts"  # SQLite; its shadow tables are messages_fts_data, _idx, _docsize, _config
VECTOR_COLUMN = "search_vector"  # PostgreSQL, on messages
VECTOR_INDEX = "ix_messages_search_vector"
TEXT_SEARCH_CONFIG = "simple"  # no stemming, no stop words: the same words match on both engines


def is_index_table(name: str | None) -> bool:
    """The FTS5 table or one of its shadow tables (they are not models, nor reflectable as such)."""
    return name is not None and name.startswith(FTS_TABLE)


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Alembic hook: leave the search objects out of autogenerate and drift checks."""
    if type_ == "table":
        return not is_index_table(name)
    if type_ == "column":
        return not (parent_names.get("table_name") == "messages" and name == VECTOR_COLUMN)
    if type_ == "index":
        return name != VECTOR_INDEX
    return True
