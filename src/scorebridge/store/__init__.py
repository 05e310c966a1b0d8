"""The store (DESIGN §3): SQLite by default, PostgreSQL through the same URL.

Open it with :func:`open_store`; write inside ``with store.write() as conn:`` and read inside
``with store.read() as conn:``. The modules ``cursors``, ``outbox``, ``deadletter``, ``lease``
and ``runs`` work on the connection of the caller's transaction; ``tables`` holds the schema and
``migrations`` its Alembic history.
"""

from scorebridge.store.engine import Store, insert, open_store

__all__ = ["Store", "insert", "open_store"]
