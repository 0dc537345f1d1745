"""Decode a source table's text columns to NFC Unicode (UTF-8, cp1258, TCVN3, VNI-Windows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo import textenc, textguess
from geo.errors import InvalidInput
from geo.readers import RawTable


def _text_columns(table: RawTable) -> list[str]:
    frame = table.frame
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)
    ]


def decode_text(table: RawTable, encoding: str | None) -> tuple[str, str]:
    """Decode every text column in place to NFC Unicode; returns (encoding, note)."""
    columns = _text_columns(table)
    if not table.bytes_text:
        values = [v for c in columns for v in table.frame[c] if isinstance(v, str)]
        if encoding is None and not any(textguess.looks_like_mojibake(v) for v in values):
            return "utf-8", ""
        # Text that was mis-converted before it reached a UTF-8 format: undo that first.
        for c in columns:
            table.frame[c] = [
                _recovered_latin1(v) if isinstance(v, str) else v for v in table.frame[c]
            ]
    todo = {c: _needs_decoding(table.frame[c]) for c in columns}  # the cells to decode
    non_ascii = _non_ascii_sample(table, todo)
    if encoding is not None:
        chosen = textenc.normalise_encoding_name(encoding)
        note = f"encoding given by --encoding: {chosen}"
    elif not non_ascii:
        chosen, note = "utf-8", ""
    else:
        guess = textguess.guess_encoding(non_ascii)
        chosen = guess.encoding
        note = f"{guess.reason} (e.g. '{guess.example_raw}' -> '{guess.example_decoded}')"
        if table.declared_encoding and _cpg_name(table.declared_encoding) not in (None, chosen):
            note += f"; the .cpg file says {table.declared_encoding}, which does not fit the text"
    for c, cells in todo.items():
        if not cells.any():
            continue  # plain ASCII text (codes, numbers) decodes to itself
        values = table.frame[c].tolist()
        decoded: dict[object, object] = {}  # each distinct value decoded once
        for i in np.flatnonzero(cells):
            v = values[i]
            values[i] = (
                decoded[v] if v in decoded else decoded.setdefault(v, _decode_value(v, chosen))
            )
        table.frame[c] = values
    return chosen, note


def _needs_decoding(column: pd.Series) -> np.ndarray:
    """Which cells hold text other than printable ASCII (what ``_decode_value`` keeps as is),
    found at once rather than cell by cell."""
    cells = column.tolist()
    try:
        joined = "".join(cells)
    except TypeError:  # a cell that is not text
        joined = None
    if joined is not None and joined.isascii() and joined.isprintable():
        return np.zeros(len(cells), dtype=bool)  # codes, numbers, phones: the whole column
    verdict: dict[object, bool] = {}  # each distinct value looked at once

    def needs(v: object) -> bool:
        try:
            return verdict[v]
        except KeyError:
            return verdict.setdefault(
                v, isinstance(v, str) and not (v.isascii() and v.isprintable())
            )
        except TypeError:  # an unhashable cell
            return isinstance(v, str) and not (v.isascii() and v.isprintable())

    return np.fromiter(map(needs, cells), dtype=bool, count=len(cells))


def _decode_value(value: object, encoding: str) -> object:
    if not isinstance(value, str):
        return value
    if value.isascii() and value.isprintable():  # TCVN3 puts capitals on control bytes
        return value
    return textenc.decode_legacy(value.encode("latin-1"), encoding)


def _non_ascii_sample(
    table: RawTable, todo: dict[str, np.ndarray], size: int = 5000
) -> list[bytes]:
    """Distinct non-ASCII values (``todo``: per column, the cells that are), evenly spread over
    the file: enough to tell the encoding apart without scoring every one of a million rows."""
    seen: dict[bytes, None] = {}
    for c, marked in todo.items():
        cells = table.frame[c].tolist()
        values = [cells[i] for i in np.flatnonzero(marked)]
        step = max(len(values) // size, 1)
        for v in values[::step]:
            seen.setdefault(v.encode("latin-1"), None)
    return list(seen)


def _recovered_latin1(value: str) -> str:
    raw = textenc.recover_bytes(value)
    return raw.decode("latin-1") if raw is not None else value.encode("utf-8").decode("latin-1")


def _cpg_name(declared: str) -> str | None:
    try:
        return textenc.normalise_encoding_name(declared)
    except InvalidInput:
        return None
