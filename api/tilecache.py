"""An in-process tile cache that is never stale.

Every write to a layer table sends NOTIFY agrimap_layers with the extent it changed
(migration 0006); each server process hears it on its own connection (``LayerWatch``) and
evicts exactly the cached tiles whose area (tile plus buffer) meets that extent. ETags are
content hashes, so a tile the change did not alter keeps its ETag and clients keep their 304s.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

from layers.serving import tiles as tile_rules

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Tile:
    raw: bytes
    etag: str
    truncated: tuple[str, ...]
    tables: tuple[str, ...] = ()  # the layer tables it was made from
    zxy: tuple[int, int, int] | None = None  # where it lies, for eviction by extent

    @cached_property
    def gz(self) -> bytes:
        """Compressed on the first request that accepts gzip, then kept with the tile."""
        return gzip.compress(self.raw, compresslevel=6, mtime=0)

    @property
    def size(self) -> int:
        """Bytes it may hold: raw, plus room for its gzip form (at most about half of raw
        for MVT) whether or not that was made yet."""
        return len(self.raw) * 3 // 2 + 64


class TileCache:
    """Least-recently-used tiles up to ``max_bytes`` (see ``Tile.size``)."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Tile] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> Tile | None:
        tile = self._items.get(key)
        if tile is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return tile

    def put(self, key: tuple, tile: Tile) -> None:
        if tile.size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._items[key] = tile
        self._bytes += tile.size
        while self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size

    def evict(self, table: str, box: Box | None) -> int:
        """Drop the tiles made from ``table`` that a change inside ``box`` (None: anywhere)
        can alter; returns how many."""
        gone = [
            key
            for key, t in self._items.items()
            if table in t.tables
            and (box is None or t.zxy is None or tile_rules.touches(*t.zxy, box))
        ]
        for key in gone:
            self._bytes -= self._items.pop(key).size
        return len(gone)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


def content_etag(raw: bytes) -> str:
    return '"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'


def make_tile(
    raw: bytes,
    truncated: tuple[str, ...] = (),
    *,
    tables: tuple[str, ...] = (),
    zxy: tuple[int, int, int] | None = None,
    etag: str | None = None,
) -> Tile:
    return Tile(raw, etag or content_etag(raw), truncated, tables, zxy)
