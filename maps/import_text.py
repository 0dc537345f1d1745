"""The words of the web import pages (upload, preview, progress, history), Vietnamese first, and
the import's own notes and refusals told in the reader's language. Pure: no I/O, no SQL."""

from __future__ import annotations

import re

from geo.textenc import LABELS
from geo.values import format_number

LAYER_NAMES: dict[str, dict[str, str]] = {
    "vi": {"villages": "Thôn, bản", "households": "Hộ gia đình", "growing_areas": "Vùng trồng",
           "communes": "Xã, phường", "provinces": "Tỉnh", "soil_zones": "Vùng thổ nhưỡng",
           "coverage": "Vùng phủ sóng", "soil_rasters": "Bản đồ thổ nhưỡng (ảnh)",
           "soil_samples": "Mẫu đất"},
    "en": {"villages": "Villages", "households": "Households", "growing_areas": "Growing areas",
           "communes": "Communes", "provinces": "Provinces", "soil_zones": "Soil zones",
           "coverage": "Coverage", "soil_rasters": "Soil rasters", "soil_samples": "Soil samples"},
}  # fmt: skip
MODE_NAMES: dict[str, dict[str, str]] = {
    "vi": {"refuse": "Từ chối dòng đã có", "append": "Chỉ thêm dòng mới",
           "upsert": "Thêm mới và cập nhật dòng đã có", "replace": "Thay dữ liệu của xã"},
    "en": {"refuse": "Refuse rows already stored", "append": "Add new rows only",
           "upsert": "Add new rows, update stored ones", "replace": "Replace the commune's rows"},
}  # fmt: skip
STAGE_NAMES: dict[str, dict[str, str]] = {
    "vi": {"queued": "Đang chờ", "read": "Đọc tệp", "check": "Kiểm tra từng dòng",
           "write": "Chép vào bảng tạm", "place": "Xác định vị trí, kiểm tra trùng",
           "insert": "Ghi vào cơ sở dữ liệu", "done": "Xong", "failed": "Không nhập được"},
    "en": {"queued": "Waiting", "read": "Reading the file", "check": "Checking each row",
           "write": "Copying to a staging table", "place": "Placing rows, checking duplicates",
           "insert": "Writing to the database", "done": "Done", "failed": "Not imported"},
}  # fmt: skip

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Nhập dữ liệu từ tệp",
        "intro": "Tải lên tệp thôn, hộ gia đình hoặc vùng trồng của xã mình: Shapefile nén .zip, "
        "GeoPackage, GeoJSON, Excel (.xlsx) hoặc CSV có tọa độ. Trước khi ghi, trang xem trước "
        "cho biết bảng mã, hệ tọa độ, cột nào ghép vào trường nào, các dòng trên bản đồ và lỗi "
        "của từng dòng.",
        "file": "Tệp",
        "chooseFile": "Chọn tệp",
        "noFile": "Chưa chọn tệp nào",
        "fileHelp": "Tối đa {size}. Shapefile: nén chung .shp, .shx, .dbf, .prj (và .cpg) thành một tệp .zip.",
        "layer": "Loại dữ liệu",
        "mode": "Khi dòng đã có trong cơ sở dữ liệu",
        "commune": "Xã",
        "communeAuto": "Theo vị trí của từng dòng",
        "crs": "Hệ tọa độ",
        "crsPlaceholder": "Để trống: đọc từ tệp. VD: VN2000:Lào Cai, EPSG:9208",
        "encoding": "Bảng mã chữ",
        "encodingAuto": "Tự nhận ra",
        "skipInvalid": "Bỏ qua các dòng lỗi, chỉ nhập các dòng hợp lệ",
        "upload": "Tải lên và xem trước",
        "history": "Lịch sử nhập dữ liệu",
        "yourCommunes": "Tài khoản này nhập được vào: {communes}.",
        "previewTitle": "Xem trước: {name}",
        "previewIntro": "Chưa ghi gì vào cơ sở dữ liệu. Kiểm tra rồi bấm «Nhập» để ghi.",
        "nothingWritten": "Chưa ghi gì vào cơ sở dữ liệu.",
        "read": "Đọc được",
        "rowsCount": "{n} dòng",
        "willImport": "Sẽ nhập",
        "willUpdate": "Sẽ cập nhật",
        "unchanged": "Giữ nguyên",
        "willRemove": "Sẽ xóa",
        "refusedCount": "Bị từ chối",
        "repairedCount": "Đã sửa hình",
        "encodingUsed": "Bảng mã",
        "crsUsed": "Hệ tọa độ",
        "coordinates": "Cột tọa độ",
        "place": "Vị trí",
        "modeUsed": "Chế độ",
        "warnings": "Lưu ý",
        "mapping": "Ghép cột",
        "mappingIntro": "Cột nào trong tệp ghép vào trường nào. Đổi lựa chọn rồi bấm «Xem trước lại».",
        "field": "Trường",
        "column": "Cột trong tệp",
        "notRead": "— không đọc —",
        "detected": "tự nhận",
        "changed": "đã đổi",
        "required": "bắt buộc",
        "repreview": "Xem trước lại",
        "problems": "Lỗi từng dòng",
        "row": "Dòng",
        "reason": "Lý do",
        "noProblems": "Không có dòng nào bị từ chối.",
        "moreProblems": "… và {n} dòng khác bị từ chối.",
        "mapLabel": "Các dòng của tệp trên bản đồ",
        "mapLegendOk": "dòng hợp lệ",
        "mapLegendBad": "dòng bị từ chối",
        "mapCapped": "Bản đồ vẽ {shown} trên {total} dòng đầu tiên.",
        "confirm": "Nhập {n} dòng",
        "confirmSkip": "Nhập {n} dòng hợp lệ, bỏ {m} dòng lỗi",
        "cannotImport": "Chưa nhập được: sửa tệp hoặc đổi lựa chọn rồi xem trước lại.",
        "fixOrSkip": "Có dòng bị từ chối: sửa tệp, hoặc chọn «Bỏ qua các dòng lỗi» rồi xem trước lại.",
        "fileError": "Không đọc hoặc không nhập được tệp",
        "options": "Lựa chọn",
        "startOver": "Tải tệp khác",
        "progressTitle": "Đang nhập dữ liệu từ tệp {name}",
        "progressRows": "{done} / {total} dòng",
        "doneTitle": "Đã nhập xong",
        "doneText": "Đã nhập {n} dòng vào {layer} (lần nhập số {batch}).",
        "doneUpdated": "cập nhật {n} dòng đã có",
        "doneUnchanged": "giữ nguyên {n} dòng đã có",
        "doneRemoved": "xóa {n} dòng không còn trong tệp",
        "doneRefused": "bỏ qua {n} dòng lỗi",
        "failedTitle": "Không nhập được",
        "failedText": "Cơ sở dữ liệu không thay đổi.",
        "toHistory": "Xem lịch sử nhập dữ liệu",
        "historyTitle": "Lịch sử nhập dữ liệu",
        "historyIntro": "Ai đã nhập tệp nào, lúc nào, với bao nhiêu dòng. Hoàn tác một lần nhập xóa "
        "mọi dòng lần đó đã thêm, khi chưa có gì phụ thuộc vào chúng.",
        "number": "Số",
        "when": "Lúc",
        "who": "Người nhập",
        "fileName": "Tệp",
        "layerName": "Loại dữ liệu",
        "communes": "Xã",
        "added": "Thêm",
        "updated": "Cập nhật",
        "removed": "Xóa",
        "refused": "Từ chối",
        "modeName": "Chế độ",
        "action": "Thao tác",
        "undo": "Hoàn tác",
        "undoConfirm": "Xóa mọi dòng mà lần nhập này đã thêm?",
        "undone": "Đã hoàn tác {when} bởi {who}",
        "undoneOk": "Đã hoàn tác lần nhập số {batch}: xóa {n} dòng.",
        "noImports": "Chưa có lần nhập nào.",
        "older": "Cũ hơn →",
        "newImport": "Nhập tệp mới",
        "commandLine": "dòng lệnh",
    },
    "en": {
        "title": "Import from a file",
        "intro": "Upload your commune's villages, households or growing areas: a zipped shapefile, "
        "GeoPackage, GeoJSON, Excel (.xlsx) or CSV with coordinates. Before anything is written, "
        "the preview shows the encoding, the coordinate system, which column feeds which field, "
        "the rows on a map and each row's problems.",
        "file": "File",
        "chooseFile": "Choose a file",
        "noFile": "No file chosen",
        "fileHelp": "At most {size}. Shapefile: zip .shp, .shx, .dbf, .prj (and .cpg) together.",
        "layer": "What the file holds",
        "mode": "Rows already stored",
        "commune": "Commune",
        "communeAuto": "From each row's location",
        "crs": "Coordinate system",
        "crsPlaceholder": "Empty: read from the file. E.g. VN2000:Lào Cai, EPSG:9208",
        "encoding": "Text encoding",
        "encodingAuto": "Detect",
        "skipInvalid": "Skip refused rows, import the valid ones",
        "upload": "Upload and preview",
        "history": "Import history",
        "yourCommunes": "This account imports into: {communes}.",
        "previewTitle": "Preview: {name}",
        "previewIntro": "Nothing is written yet. Check, then press “Import” to write.",
        "nothingWritten": "Nothing was written to the database.",
        "read": "Read",
        "rowsCount": "{n} rows",
        "willImport": "Will import",
        "willUpdate": "Will update",
        "unchanged": "Unchanged",
        "willRemove": "Will remove",
        "refusedCount": "Refused",
        "repairedCount": "Shapes repaired",
        "encodingUsed": "Encoding",
        "crsUsed": "Coordinate system",
        "coordinates": "Coordinate columns",
        "place": "Place",
        "modeUsed": "Mode",
        "warnings": "Notes",
        "mapping": "Column mapping",
        "mappingIntro": "Which column of the file feeds which field. Change it, then press “Preview again”.",
        "field": "Field",
        "column": "Column in the file",
        "notRead": "— not read —",
        "detected": "detected",
        "changed": "changed",
        "required": "required",
        "repreview": "Preview again",
        "problems": "Row problems",
        "row": "Row",
        "reason": "Reason",
        "noProblems": "No row is refused.",
        "moreProblems": "… and {n} more refused rows.",
        "mapLabel": "The file's rows on a map",
        "mapLegendOk": "valid row",
        "mapLegendBad": "refused row",
        "mapCapped": "The map draws the first {shown} of {total} rows.",
        "confirm": "Import {n} rows",
        "confirmSkip": "Import {n} valid rows, skip {m} refused",
        "cannotImport": "Cannot import yet: fix the file or change the choices, then preview again.",
        "fixOrSkip": "Some rows are refused: fix the file, or choose “Skip refused rows” and preview again.",
        "fileError": "The file could not be read or imported",
        "options": "Choices",
        "startOver": "Upload another file",
        "progressTitle": "Importing: {name}",
        "progressRows": "{done} / {total} rows",
        "doneTitle": "Imported",
        "doneText": "Imported {n} rows into {layer} (import {batch}).",
        "doneUpdated": "updated {n} stored rows",
        "doneUnchanged": "left {n} stored rows unchanged",
        "doneRemoved": "removed {n} rows no longer in the file",
        "doneRefused": "skipped {n} refused rows",
        "failedTitle": "Not imported",
        "failedText": "The database is unchanged.",
        "toHistory": "See the import history",
        "historyTitle": "Import history",
        "historyIntro": "Who imported which file, when, with how many rows. Undoing an import removes "
        "every row it added, while nothing depends on them.",
        "number": "No.",
        "when": "When",
        "who": "By",
        "fileName": "File",
        "layerName": "Data",
        "communes": "Communes",
        "added": "Added",
        "updated": "Updated",
        "removed": "Removed",
        "refused": "Refused",
        "modeName": "Mode",
        "action": "Action",
        "undo": "Undo",
        "undoConfirm": "Remove every row this import added?",
        "undone": "Undone {when} by {who}",
        "undoneOk": "Import {batch} undone: {n} rows removed.",
        "noImports": "No import yet.",
        "older": "Older →",
        "newImport": "Import a new file",
        "commandLine": "command line",
    },
}

# A value parser's English words (geo.values, the layers' parsers) in Vietnamese.
_PARSER_VI: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), vi)
    for p, vi in (
        (r"^(?P<v>'.*') is too large a number$", r"\g<v> là số quá lớn"),
        (r"^(?P<v>'.*') is not a finite number$", r"\g<v> không phải là số hữu hạn"),
        (r"^(?P<v>'.*') is not a number$", r"\g<v> không phải là số"),
        (r"^(?P<v>'.*') is not a whole number$", r"\g<v> không phải là số nguyên"),
        (r"^(?P<v>'.*') is not yes/no \(có/không\)$", r"\g<v> không phải là có/không"),
        (r"^(?P<v>'.*') is not a date \(use dd/mm/yyyy or yyyy-mm-dd\)$",
         r"\g<v> không phải là ngày (viết dd/mm/yyyy hoặc yyyy-mm-dd)"),
        (r"^(?P<v>'.*') is not one of: (?P<a>.*)$", r"\g<v> không thuộc các giá trị: \g<a>"),
        (r"^(?P<v>'.*') is not a Vietnamese phone number \(10 digits starting with 0\)$",
         r"\g<v> không phải số điện thoại Việt Nam (10 chữ số, bắt đầu bằng 0)"),
        (r"^(?P<v>'.*') is too long for a household code \(40 characters\)$",
         r"\g<v> quá dài cho mã hộ (tối đa 40 ký tự)"),
        (r"^(?P<v>'.*') is too long for a village code$", r"\g<v> quá dài cho mã thôn"),
        (r"^(?P<v>'.*') is not a growing-area code \(e\.g\. (?P<e>.*)\)$",
         r"\g<v> không phải là mã số vùng trồng (ví dụ \g<e>)"),
        (r"^(?P<v>'.*') is not a (?P<n>\d)-digit statistics-office code$",
         r"\g<v> không phải mã \g<n> chữ số của Tổng cục Thống kê"),
        (r"^area (?P<v>.*) must be greater than 0 ha$", r"diện tích \g<v> phải lớn hơn 0 ha"),
    )
)  # fmt: skip


def problem_text(vi: str, en: str, lang: str) -> str:
    """One problem of a row in the reader's language. A parser's English words are put in
    Vietnamese ("Số hộ (SO_HO): 'abc' is not a number" → "…: 'abc' không phải là số")."""
    if lang == "en":
        return en
    if vi != en:
        return vi
    head, sep, tail = vi.rpartition("): ")
    prefix, text = (head + sep, tail) if sep else ("", vi)
    for pattern, replacement in _PARSER_VI:
        if pattern.match(text):
            return prefix + pattern.sub(replacement, text)
    return vi


def row_reasons(
    rejected: list[tuple[int, str]] | list[list], reasons: dict, lang: str
) -> list[tuple[int, str]]:
    """Every refused row with its reasons in ``lang``, from an import summary's ``rejected``
    ("vi / en; …") and ``reasons`` ({row: [(vi, en), …]}, keys may be strings from JSON)."""
    out = []
    for row, joined in rejected:
        pairs = reasons.get(row) or reasons.get(str(row))
        if pairs:
            out.append((int(row), "; ".join(problem_text(vi, en, lang) for vi, en in pairs)))
        else:
            out.append((int(row), joined))
    return out


def pair_text(text: str, lang: str) -> str:
    """A "vi / en" note in one language (a note without the pair is returned as it is)."""
    vi, sep, en = text.partition(" / ")
    if not sep:
        return text
    return en if lang == "en" else vi


_NOTES_VI: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), vi)
    for p, vi in (
        (r"^(?P<x>.+) = easting/longitude, (?P<y>.+) = northing/latitude \(named so\)$",
         r"\g<x> = kinh độ (hướng đông), \g<y> = vĩ độ (hướng bắc), theo tên cột"),
        (r"^(?P<x>.+) = easting/longitude, (?P<y>.+) = northing/latitude \(by their values\)$",
         r"\g<x> = kinh độ (hướng đông), \g<y> = vĩ độ (hướng bắc), nhận ra theo giá trị"),
        (r"^(?P<x>.+) = northing, (?P<y>.+) = easting: the Vietnamese survey order "
         r"\(X bắc, Y đông\), read by their values$",
         r"\g<x> = tọa độ bắc, \g<y> = tọa độ đông: thứ tự của bảng đo đạc Việt Nam "
         r"(X bắc, Y đông), nhận ra theo giá trị"),
        (r"^commune (?P<c>\S+) given for the whole file \(--commune\)$",
         r"cả tệp thuộc xã \g<c> (đã chọn)"),
        (r"^(?P<n>\d+) row\(s\) placed in the commune holding them \(largest overlap\)$",
         r"\g<n> dòng được xếp vào xã chứa chúng (phần diện tích lớn nhất)"),
        (r"^(?P<n>\d+) row\(s\) placed in the village holding them$",
         r"\g<n> dòng được xếp vào thôn chứa chúng"),
        (r"^encoding given by --encoding: (?P<e>.+)$", r"bảng mã đã chọn: \g<e>"),
    )
)  # fmt: skip
_ENCODING_GUESS = re.compile(
    r"^(?P<good>\d+)/(?P<n>\d+) values decode to valid Vietnamese as (?P<label>.+?)"
    r"(?: \(next best: (?P<next>.+?), (?P<ngood>\d+)/(?P<nn>\d+)\))?"
    r" \(e\.g\. (?P<ex>'.*' -> '.*')\)(?P<rest>.*)$"
)
_LABEL_VI = {en: vi for en, vi in LABELS.values()}


def _n(digits: str, lang: str) -> str:
    return format_number(int(digits), 0, lang=lang)


def note_text(note: str, lang: str) -> str:
    """An import note (coordinates, place, encoding; written in English by the readers) in
    the reader's language, its counts written as the language writes numbers (1.400)."""
    if not note:
        return note
    m = _ENCODING_GUESS.match(note)
    if m:
        labels = _LABEL_VI if lang == "vi" else {en: en for en in _LABEL_VI}
        label = labels.get(m["label"], m["label"])
        good, n = _n(m["good"], lang), _n(m["n"], lang)
        text = (
            f"{good}/{n} giá trị giải mã thành tiếng Việt hợp lệ theo {label}"
            if lang == "vi"
            else f"{good}/{n} values decode to valid Vietnamese as {label}"
        )
        if m["next"]:
            nxt = f"{labels.get(m['next'], m['next'])}, {_n(m['ngood'], lang)}/{_n(m['nn'], lang)}"
            text += f" (kế tiếp: {nxt})" if lang == "vi" else f" (next best: {nxt})"
        raw, decoded = m["ex"].split(" -> ", 1)
        if m["label"] != LABELS["utf-8"][0]:
            # A legacy encoding: how the bytes looked and what they read as is the proof.
            text += f" (ví dụ {raw} → {decoded})" if lang == "vi" else f" (e.g. {raw} → {decoded})"
        if m["rest"]:
            text += (
                "; tệp .cpg ghi một bảng mã không khớp với chữ trong tệp"
                if lang == "vi"
                else "; the .cpg file names an encoding that does not fit the text"
            )
        return text
    if lang == "en":
        return re.sub(r"\b\d{4,}\b", lambda d: _n(d[0], lang), note)
    for pattern, replacement in _NOTES_VI:
        if pattern.match(note):
            return re.sub(r"^\d+", lambda d: _n(d[0], lang), pattern.sub(replacement, note))
    return note


def encoding_name(encoding: str, lang: str) -> str:
    en, vi = LABELS.get(encoding, (encoding, encoding))
    return en if lang == "en" else vi


def crs_note_vi(note: str) -> str:
    """The CRS note of the command line (--crs) as the web form names it."""
    return note.replace("theo --crs", "đã chọn")


def done_counts(result: dict, lang: str) -> str:
    """What else a finished import did, only the parts that happened: "Cập nhật 3 dòng đã
    có, bỏ qua 1 dòng lỗi." ("" when it only added rows)."""
    t = STRINGS[lang]
    parts = [
        t[key].format(n=format_number(result[name], 0, lang=lang))
        for key, name in (("doneUpdated", "updated"), ("doneUnchanged", "unchanged"),
                          ("doneRemoved", "removed"), ("doneRefused", "refused"))
        if result.get(name)
    ]  # fmt: skip
    if not parts:
        return ""
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "."
