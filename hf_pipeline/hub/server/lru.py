"""A thread-safe LRU bounded by a count and a size in bytes (the server's commit cache).

Every parsed commit holds its full file map, so caching a repo's whole history costs
commits x files: unbounded, a long-running server's memory only grows (181 MB after one
load test, never released). Bounded, it stays flat.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedLRU(Generic[V]):
    """Keeps the most recently used values within ``max_items`` and ``max_bytes``."""

    def __init__(self, *, max_items: int, max_bytes: int) -> None:
        self.max_items, self.max_bytes = max_items, max_bytes
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value`` (which costs ``size`` bytes), evicting the least recently used."""
        if size > self.max_bytes or self.max_items < 1:
            return  # larger than the whole cache: it is rebuilt when asked for again
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def drop(self, predicate: Callable[[Hashable], bool]) -> None:
        """Forget every key for which ``predicate(key)`` is true."""
        with self._lock:
            for key in [k for k in self._items if predicate(k)]:
                self._bytes -= self._items.pop(key)[1]
