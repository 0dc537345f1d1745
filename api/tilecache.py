"""An in-process tile cache that is never stale: tiles are keyed by the versions of the layers
they were made from, and the versions are read from the database on every request (one small
indexed query), so a commit in any process is seen by the next request of every process."""

from __future__ import annotations

import gzip
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    raw: bytes
    gz: bytes
    etag: str
    truncated: tuple[str, ...]


class TileCache:
    """Least-recently-used tiles up to ``max_bytes`` (raw + gzip bytes)."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Tile] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> Tile | None:
        tile = self._items.get(key)
        if tile is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return tile

    def put(self, key: tuple, tile: Tile) -> None:
        size = len(tile.raw) + len(tile.gz)
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old.raw) + len(old.gz)
        self._items[key] = tile
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= len(dropped.raw) + len(dropped.gz)


def make_tile(raw: bytes, etag: str, truncated: tuple[str, ...]) -> Tile:
    return Tile(raw, gzip.compress(raw, compresslevel=6, mtime=0), etag, truncated)
