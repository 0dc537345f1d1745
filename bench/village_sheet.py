"""Time the village QR sheet PDF (issue 14: 150 households in under 1 s), side by side with the
way it was made before: each code encoded by segno (pure Python) and placed as a PNG image.

Usage: .venv/bin/python bench/village_sheet.py [N households, default 150] [runs, default 5]
No database or network. The reference needs segno installed (no longer a dependency); without
it only today's sheet is timed. Each run clears the QR cache, so every code is encoded anew.
"""

from __future__ import annotations

import io
import statistics
import sys
import time

from geo import qrtoken
from maps import qr, village_sheet
from maps.village_sheet import SheetEntry, village_sheet_pdf


def entries(n: int) -> list[SheetEntry]:
    tokens = [qrtoken.new_token() for _ in range(n)]
    return [
        SheetEntry(f"https://agrimap.example.vn/q/{t}", f"Hộ Nguyễn Văn Ước {i + 1}",
                   qrtoken.display(t))
        for i, t in enumerate(tokens)
    ]  # fmt: skip


def _reference_card_qr(pdf, url: str, x: float, y: float) -> None:
    import segno

    buf = io.BytesIO()
    segno.make(url, error="H", micro=False, boost_error=False).save(
        buf, kind="png", scale=10, border=qr.QUIET_ZONE
    )
    pdf.image(io.BytesIO(buf.getvalue()), x=x, y=y, w=village_sheet.QR_MM, h=village_sheet.QR_MM)


def timed(make, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        qr.qr_code.cache_clear()
        start = time.perf_counter()
        make()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    sheet = entries(n)
    results = {"today (zxing-cpp, vector codes)": timed(
        lambda: village_sheet_pdf("Cóc Sa", "Gia Phú", sheet), runs)}  # fmt: skip
    try:
        import segno  # noqa: F401
    except ImportError:
        print("segno is not installed: the reference is not timed")
    else:
        vector = village_sheet._qr_vector
        village_sheet._qr_vector = _reference_card_qr
        try:
            results["reference (segno, PNG images)"] = timed(
                lambda: village_sheet_pdf("Cóc Sa", "Gia Phú", sheet), runs
            )
        finally:
            village_sheet._qr_vector = vector
    print(f"village QR sheet PDF, {n} households, {runs} runs (median, min, max in s)")
    for name, times in results.items():
        print(f"  {name:34} {statistics.median(times):6.3f} {min(times):6.3f} {max(times):6.3f}")


if __name__ == "__main__":
    main()
