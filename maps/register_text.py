"""The registration page's words in Vietnamese and English: the side panel (``STRINGS``) and
Leaflet.draw's toolbar and tooltips (``DRAW_LOCAL``)."""

from __future__ import annotations

from layers.growing_areas import LAYER

# The form's field labels are the growing-area schema's own (page key -> column).
FORM_FIELDS = {
    "crop": "crop",
    "owner": "owner",
    "members": "member_households",
    "issuedOn": "issued_on",
    "note": "note",
}

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Đăng ký mã số vùng trồng",
        "pageTitle": "Đăng ký vùng trồng – {commune}",
        "commune": "xã {name}",
        "communeLine": "{commune} · mã xã {code}",
        "backToOverview": "Bản đồ tổng quan",
        "stepBoundary": "1. Ranh giới vùng trồng",
        "drawHelp": "Bấm nút đa giác ở góc trái bản đồ, nhấp lần lượt từng góc thửa rồi nhấp lại "
        "điểm đầu để khép kín. Vẽ vùng mới sẽ thay cho vùng đang có.",
        "uploadLabel": "Hoặc tải lên tệp ranh giới",
        "chooseFile": "Chọn tệp…",
        "uploadHelp": "KML, KMZ, GeoJSON, shapefile nén .zip, hoặc CSV/GPX các điểm GPS đi quanh thửa.",
        "uploading": "Đang đọc tệp {name}…",
        "uploaded": "Đã đọc ranh giới từ tệp {name}.",
        "uploadFailed": "Không đọc được tệp {name}.",
        "uploadNetwork": "Không gửi được tệp tới máy chủ (lỗi mạng hoặc máy chủ không phản hồi).",
        "areaLabel": "Diện tích",
        "noShape": "Chưa có ranh giới.",
        "estimate": "ước tính trên máy, chưa kiểm tra",
        "checking": "Đang kiểm tra ranh giới…",
        "checkFailed": "Không kiểm tra được ranh giới ({reason}). Máy chủ sẽ kiểm tra lại khi đăng ký.",
        "checkOk": "Ranh giới hợp lệ, có thể đăng ký.",
        "inCommune": "Thuộc xã {name} (mã {code}).",
        "otherCommune": "Vùng này thuộc xã {name} (mã {code}), không phải {commune}.",
        "error": "Lỗi",
        "warning": "Cảnh báo",
        "showArea": "Xem vùng {code}",
        "stepRecord": "2. Thông tin vùng trồng",
        "cropPlaceholder": "Ví dụ: Chè",
        "ownerPlaceholder": "Họ tên chủ hộ hoặc tên HTX, tổ hợp tác",
        "required": "bắt buộc",
        "submit": "Đăng ký và cấp mã",
        "submitting": "Đang đăng ký…",
        "needShape": "Hãy vẽ hoặc tải lên ranh giới vùng trồng trước.",
        "fixErrors": "Hãy sửa các lỗi của ranh giới trước khi đăng ký.",
        "waitCheck": "Đang chờ kết quả kiểm tra ranh giới…",
        "finishTool": "Bấm “Lưu” hoặc “Hủy” trên thanh công cụ bản đồ để kết thúc thao tác.",
        "registered": "Đã đăng ký mã số vùng trồng: {code}",
        "registeredMore": "Phiên bản {version}. Ranh giới đã được thêm vào bản đồ; có thể vẽ vùng tiếp theo.",
        "sheetLink": "Xem phiếu bản đồ",
        "geojsonLink": "Tải GeoJSON",
        "submitFailed": "Không đăng ký được (HTTP {status}).",
        "submitNetwork": "Không gửi được dữ liệu tới máy chủ. Kiểm tra kết nối mạng rồi thử lại.",
        "existingFailed": "Không tải được các vùng trồng đã đăng ký ({reason}).",
        "communeFailed": "Không tải được ranh giới xã ({reason}).",
        "existingLegend": "Vùng trồng đã đăng ký",
        "drawnLegend": "Vùng đang đăng ký",
        "communeLegend": "Ranh giới xã",
        "basemap": "Bản đồ nền OpenStreetMap",
        "zoomIn": "Phóng to",
        "zoomOut": "Thu nhỏ",
        "networkError": "lỗi mạng",
        "badAnswer": "máy chủ trả lời không đúng định dạng",
        "editTitle": "Vẽ lại ranh giới {code}",
        "editPageTitle": "Vẽ lại ranh giới {code} – {commune}",
        "editHelp": "Ranh giới đang đăng ký đã được vẽ sẵn: bấm nút sửa (hình bút) ở góc trái để "
        "kéo các góc, hoặc vẽ một đa giác mới để thay. Các kiểm tra chạy ngay khi ranh giới đổi.",
        "editSubmit": "Lưu ranh giới mới",
        "backToArea": "Về trang vùng trồng {code}",
        "locale": "vi-VN",
    },
    "en": {
        "title": "Register a growing-area code",
        "pageTitle": "Register a growing area – {commune}",
        "commune": "{name} commune",
        "communeLine": "{commune} · commune code {code}",
        "backToOverview": "Overview map",
        "stepBoundary": "1. Growing-area boundary",
        "drawHelp": "Press the polygon button at the map's top left, click each corner of the "
        "field, then click the first point again to close it. A new drawing replaces the old one.",
        "uploadLabel": "Or upload a boundary file",
        "chooseFile": "Choose a file…",
        "uploadHelp": "KML, KMZ, GeoJSON, zipped shapefile, or CSV/GPX of GPS points walked "
        "around the field.",
        "uploading": "Reading {name}…",
        "uploaded": "Boundary read from {name}.",
        "uploadFailed": "Could not read {name}.",
        "uploadNetwork": "Could not send the file to the server (network error or no answer).",
        "areaLabel": "Area",
        "noShape": "No boundary yet.",
        "estimate": "estimated in the browser, not checked yet",
        "checking": "Checking the boundary…",
        "checkFailed": "Could not check the boundary ({reason}). The server checks it again on "
        "registration.",
        "checkOk": "The boundary is valid and can be registered.",
        "inCommune": "In commune {name} (code {code}).",
        "otherCommune": "This area lies in commune {name} (code {code}), not in {commune}.",
        "error": "Error",
        "warning": "Warning",
        "showArea": "Show area {code}",
        "stepRecord": "2. Growing-area record",
        "cropPlaceholder": "e.g. Chè (tea)",
        "ownerPlaceholder": "Household head, cooperative or cooperative group",
        "required": "required",
        "submit": "Register and issue code",
        "submitting": "Registering…",
        "needShape": "Draw or upload the growing area's boundary first.",
        "fixErrors": "Fix the boundary's errors before registering.",
        "waitCheck": "Waiting for the boundary check…",
        "finishTool": "Press “Save” or “Cancel” in the map toolbar to finish first.",
        "registered": "Registered growing-area code: {code}",
        "registeredMore": "Version {version}. The boundary is now on the map; you can draw the "
        "next area.",
        "sheetLink": "Open the map sheet",
        "geojsonLink": "Download GeoJSON",
        "submitFailed": "Registration failed (HTTP {status}).",
        "submitNetwork": "Could not reach the server. Check the connection and try again.",
        "editTitle": "Redraw the boundary of {code}",
        "editPageTitle": "Redraw {code} – {commune}",
        "editHelp": "The registered boundary is drawn: press the edit (pen) button at the top left "
        "to drag its corners, or draw a new polygon to replace it. The checks run as it changes.",
        "editSubmit": "Save the new boundary",
        "backToArea": "Back to growing area {code}",
        "existingFailed": "Could not load the registered growing areas ({reason}).",
        "communeFailed": "Could not load the commune boundary ({reason}).",
        "existingLegend": "Registered growing areas",
        "drawnLegend": "Area being registered",
        "communeLegend": "Commune boundary",
        "basemap": "OpenStreetMap basemap",
        "zoomIn": "Zoom in",
        "zoomOut": "Zoom out",
        "networkError": "network error",
        "badAnswer": "the server's answer is not in the expected form",
        "locale": "en-GB",
    },
}

# Leaflet.draw's own texts (L.drawLocal), merged over its English defaults by register.js.
DRAW_LOCAL: dict[str, dict] = {
    "vi": {
        "draw": {
            "toolbar": {
                "actions": {"title": "Hủy vẽ", "text": "Hủy"},
                "finish": {"title": "Kết thúc vẽ", "text": "Xong"},
                "undo": {"title": "Xóa điểm vừa vẽ", "text": "Xóa điểm cuối"},
                "buttons": {
                    "polygon": "Vẽ ranh giới vùng trồng (đa giác)",
                    "polyline": "Vẽ đường",
                    "rectangle": "Vẽ hình chữ nhật",
                    "circle": "Vẽ hình tròn",
                    "marker": "Đặt điểm",
                    "circlemarker": "Đặt điểm tròn",
                },
            },
            "handlers": {
                "polygon": {
                    "tooltip": {
                        "start": "Nhấp để bắt đầu vẽ ranh giới.",
                        "cont": "Nhấp để vẽ tiếp ranh giới.",
                        "end": "Nhấp vào điểm đầu tiên để khép kín vùng.",
                    }
                },
                "polyline": {
                    "error": "<strong>Lỗi:</strong> các cạnh không được cắt nhau!",
                    "tooltip": {
                        "start": "Nhấp để bắt đầu vẽ đường.",
                        "cont": "Nhấp để vẽ tiếp.",
                        "end": "Nhấp vào điểm cuối để kết thúc.",
                    },
                },
                "rectangle": {"tooltip": {"start": "Nhấp và kéo để vẽ hình chữ nhật."}},
                "circle": {
                    "tooltip": {"start": "Nhấp và kéo để vẽ hình tròn."},
                    "radius": "Bán kính",
                },
                "circlemarker": {"tooltip": {"start": "Nhấp vào bản đồ để đặt điểm tròn."}},
                "marker": {"tooltip": {"start": "Nhấp vào bản đồ để đặt điểm."}},
                "simpleshape": {"tooltip": {"end": "Thả chuột để kết thúc."}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {
                    "save": {"title": "Lưu thay đổi", "text": "Lưu"},
                    "cancel": {"title": "Hủy sửa, bỏ mọi thay đổi", "text": "Hủy"},
                    "clearAll": {"title": "Xóa toàn bộ ranh giới", "text": "Xóa hết"},
                },
                "buttons": {
                    "edit": "Sửa ranh giới",
                    "editDisabled": "Chưa có ranh giới để sửa",
                    "remove": "Xóa ranh giới",
                    "removeDisabled": "Chưa có ranh giới để xóa",
                },
            },
            "handlers": {
                "edit": {
                    "tooltip": {
                        "text": "Kéo các điểm vuông để sửa ranh giới.",
                        "subtext": "Bấm Hủy để bỏ thay đổi.",
                    }
                },
                "remove": {"tooltip": {"text": "Nhấp vào ranh giới cần xóa."}},
            },
        },
    },
    "en": {
        "draw": {
            "toolbar": {
                "actions": {"title": "Cancel drawing", "text": "Cancel"},
                "finish": {"title": "Finish drawing", "text": "Finish"},
                "undo": {"title": "Delete the last point drawn", "text": "Delete last point"},
                "buttons": {"polygon": "Draw the growing area's boundary (polygon)"},
            },
            "handlers": {
                "polygon": {
                    "tooltip": {
                        "start": "Click to start drawing the boundary.",
                        "cont": "Click to continue the boundary.",
                        "end": "Click the first point to close the area.",
                    }
                },
            },
        },
        "edit": {
            "toolbar": {
                "buttons": {
                    "edit": "Edit the boundary",
                    "editDisabled": "No boundary to edit",
                    "remove": "Delete the boundary",
                    "removeDisabled": "No boundary to delete",
                },
            },
        },
    },
}

for _key, _column in FORM_FIELDS.items():
    STRINGS["vi"][_key] = LAYER.column(_column).title_vi
    STRINGS["en"][_key] = LAYER.column(_column).title_en
