"""The words of the sign-in page, Vietnamese first; the template reads them as ``t``. The
refusals say the same for a real and an unknown username: nothing tells which exist."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Đăng nhập",
        "intro": "Dành cho cán bộ xã, cán bộ quy hoạch và quản trị viên. Hộ gia đình không cần "
        "đăng nhập: quét mã QR của hộ để xem thông tin của mình.",
        "username": "Tên đăng nhập",
        "password": "Mật khẩu",
        "submit": "Đăng nhập",
        "expired": "Phiên biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.",
        "wrong": "Sai tên đăng nhập hoặc mật khẩu.",
        "wait": " Đã sai nhiều lần: thiết bị này cần chờ {minutes} phút trước khi thử lại tên "
        "đăng nhập này (các thiết bị khác không bị ảnh hưởng).",
    },
    "en": {
        "title": "Sign in",
        "intro": "For commune officers, planners and administrators. Households need no "
        "account: scan the household's QR code to see its entry.",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "expired": "The form has expired or is not valid. Please sign in again.",
        "wrong": "Wrong username or password.",
        "wait": " Too many failed attempts: this device must wait {minutes} minutes before "
        "trying this username again (other devices are not affected).",
    },
}


def strings(lang: str) -> dict[str, str]:
    return STRINGS["en" if lang == "en" else "vi"]
