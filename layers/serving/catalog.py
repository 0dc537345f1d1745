"""The public collections: which table each serves, and which of its columns anyone may read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Property:
    """One public attribute of a collection; ``name`` is also the column name."""

    name: str
    type: str  # JSON Schema type: string, number, integer, boolean
    title_vi: str
    title_en: str
    format: str | None = None  # e.g. "date"


@dataclass(frozen=True)
class Collection:
    """A stored layer served as an OGC API - Features collection.

    Only the columns listed in ``properties`` ever leave the database through the public API:
    personal data (household head names, phones, QR tokens, owners who are persons) is not
    listed, so it cannot be selected, filtered or exported by accident.
    """

    id: str
    table: str
    id_column: str
    geometry_type: str
    title_vi: str
    title_en: str
    description_vi: str
    description_en: str
    properties: tuple[Property, ...]
    # Layers of many small polygons (growing areas) are drawn, below this zoom, as one point per
    # tile grid cell with how many there are (``count``) and the sum of ``aggregate_total``.
    aggregate_below_zoom: int | None = None
    aggregate_total: str | None = None

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


def _p(name: str, type_: str, vi: str, en: str, fmt: str | None = None) -> Property:
    return Property(name, type_, vi, en, fmt)


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        id="provinces",
        table="province",
        id_column="code",
        geometry_type="MultiPolygon",
        title_vi="Tỉnh, thành phố",
        title_en="Provinces",
        description_vi="Tỉnh, thành phố trực thuộc trung ương, mã của Tổng cục Thống kê (sau 1/7/2025).",
        description_en="Provinces with their statistics-office codes (after 1 July 2025).",
        properties=(
            _p("code", "string", "Mã tỉnh", "Province code"),
            _p("name", "string", "Tên", "Name"),
        ),
    ),
    Collection(
        id="communes",
        table="commune",
        id_column="code",
        geometry_type="MultiPolygon",
        title_vi="Xã, phường",
        title_en="Communes",
        description_vi="Xã, phường, đặc khu với mã của Tổng cục Thống kê.",
        description_en="Communes and wards with their statistics-office codes.",
        properties=(
            _p("code", "string", "Mã xã", "Commune code"),
            _p("name", "string", "Tên", "Name"),
            _p("province_code", "string", "Mã tỉnh", "Province code"),
        ),
    ),
    Collection(
        id="villages",
        table="village",
        id_column="code",
        geometry_type="MultiPolygon",
        title_vi="Thôn, bản, tổ dân phố",
        title_en="Villages",
        description_vi="Thôn, bản, tổ dân phố trong xã.",
        description_en="Villages (thôn) within communes.",
        properties=(
            _p("code", "string", "Mã thôn", "Village code"),
            _p("name", "string", "Tên", "Name"),
            _p("commune_code", "string", "Mã xã", "Commune code"),
        ),
    ),
    Collection(
        id="growing_areas",
        table="growing_area",
        id_column="id",
        geometry_type="MultiPolygon",
        title_vi="Vùng trồng",
        title_en="Growing areas",
        description_vi="Vùng trồng đã được cấp mã số vùng trồng.",
        description_en="Growing areas with their growing-area codes.",
        properties=(
            _p("code", "string", "Mã số vùng trồng", "Growing-area code"),
            _p("crop", "string", "Cây trồng", "Crop"),
            _p("area_ha", "number", "Diện tích (ha)", "Area (ha)"),
            _p("cooperative", "string", "Tổ chức đại diện", "Representative organisation"),
            _p("member_households", "integer", "Số hộ tham gia", "Member households"),
            _p("status", "string", "Trạng thái", "Status"),
            _p("status_reason", "string", "Lý do tạm dừng/thu hồi", "Suspension/revocation reason"),
            _p("status_changed_on", "string", "Ngày đổi trạng thái", "Status changed on", "date"),
            _p("issued_on", "string", "Ngày cấp", "Issued on", "date"),
            _p("commune_code", "string", "Mã xã", "Commune code"),
            _p("version", "integer", "Phiên bản", "Version"),
        ),
        # A plot of 0.1–2 ha is under a screen pixel up to z11; drawn one by one, z8–10 tiles
        # of a province with 50,000 plots were 0.4–1.6 MB and took 0.2–0.4 s.
        aggregate_below_zoom=12,
        aggregate_total="area_ha",
    ),
    Collection(
        id="soil_zones",
        table="soil_zone",
        id_column="id",
        geometry_type="MultiPolygon",
        title_vi="Vùng nông hóa thổ nhưỡng",
        title_en="Soil fertility zones",
        description_vi="Vùng phân cấp độ phì đất theo chỉ tiêu (pH, chất hữu cơ, N, P₂O₅, K₂O).",
        description_en="Classified soil fertility zones by property (pH, organic matter, N, P2O5, K2O).",
        properties=(
            _p("property", "string", "Chỉ tiêu", "Property"),
            _p("value", "number", "Giá trị", "Value"),
            _p("grade", "string", "Cấp", "Grade"),
            _p("survey", "string", "Đợt điều tra", "Survey"),
        ),
    ),
    Collection(
        id="soil_rasters",
        table="soil_raster",
        id_column="id",
        geometry_type="Polygon",
        title_vi="Bản đồ nông hóa dạng ảnh",
        title_en="Soil rasters",
        description_vi="Danh mục ảnh raster chỉ tiêu đất; hình học là phạm vi của ảnh.",
        description_en="Catalogue of soil property rasters; the geometry is each raster's footprint.",
        properties=(
            _p("property", "string", "Chỉ tiêu", "Property"),
            _p("unit", "string", "Đơn vị", "Unit"),
            _p("depth_cm", "string", "Tầng đất (cm)", "Depth (cm)"),
            _p("source", "string", "Nguồn", "Source"),
            _p("surveyed_on", "string", "Ngày điều tra", "Surveyed on", "date"),
        ),
    ),
    Collection(
        id="households",
        table="household",
        id_column="id",
        geometry_type="Point",
        title_vi="Hộ gia đình",
        title_en="Households",
        description_vi="Vị trí hộ gia đình (không có tên, số điện thoại).",
        description_en="Household locations (without names or phone numbers).",
        properties=(
            _p("code", "string", "Mã hộ", "Household code"),
            _p("label", "string", "Nhãn", "Label"),
            _p("village_code", "string", "Mã thôn", "Village code"),
            _p("has_fibre", "boolean", "Có cáp quang", "Has fibre"),
        ),
    ),
    Collection(
        id="coverage",
        table="coverage",
        id_column="id",
        geometry_type="MultiPolygon",
        title_vi="Vùng phủ sóng viễn thông",
        title_en="Telecom coverage",
        description_vi="Vùng phủ sóng di động 2G/3G/4G/5G và cáp quang theo nhà mạng.",
        description_en="Mobile (2G-5G) and fibre coverage by operator.",
        properties=(
            _p("operator", "string", "Nhà mạng", "Operator"),
            _p("technology", "string", "Công nghệ", "Technology"),
            _p("source", "string", "Nguồn", "Source"),
            _p("observed_on", "string", "Ngày đo", "Observed on", "date"),
        ),
    ),
)

BY_ID: dict[str, Collection] = {c.id: c for c in COLLECTIONS}
