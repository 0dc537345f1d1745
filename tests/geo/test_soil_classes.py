"""Soil class tables: the boundaries of DOMAIN.md exactly, the table checks, and one table
driving colours, legend, zones, statistics and advice together."""

from __future__ import annotations

import copy
import json
import math
from importlib.resources import files

import numpy as np
import pytest
from affine import Affine

from geo.errors import InvalidInput
from geo.soil import advice_note, class_table, soil_config
from geo.soil_colours import colourise
from geo.soil_zones import graded_zones
from layers.soil import load_config, summarise_cells

CONFIG = load_config()
OM = CONFIG.table("om", "%")
PH = CONFIG.table("ph_kcl", "pH")
OC = CONFIG.table("oc", "%")


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (0.0, "rất nghèo"), (0.999999, "rất nghèo"), (1.0, "nghèo"), (2.2, "nghèo"),
        (2.2000001, "trung bình"), (4.3, "trung bình"), (4.3000001, "giàu"), (6.0, "giàu"),
        (6.0000001, "rất giàu"), (45.0, "rất giàu"),
    ],
)  # fmt: skip
def test_organic_matter_grades_follow_domain_bounds(value: float, grade: str) -> None:
    # DOMAIN.md: very rich > 6; rich 4.3–6.0; medium 2.2–4.3; poor 1.0–2.2; very poor < 1.0.
    assert OM.grade(value) == grade
    assert OM.classes[int(OM.classify(np.array([value]))[0])].grade == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [(3.2, "rất chua"), (4.4999, "rất chua"), (4.5, "chua"), (5.4999, "chua"), (5.5, "thích hợp"),
     (7.7, "thích hợp"), (7.7001, "kiềm")],
)  # fmt: skip
def test_ph_kcl_grades_follow_domain_bounds(value: float, grade: str) -> None:
    # DOMAIN.md: below 4.5 too acid; best uptake 5.5–7.7.
    assert PH.grade(value) == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    [(0.5999, "rất nghèo"), (0.6, "nghèo"), (1.26, "nghèo"), (1.2601, "trung bình"),
     (2.51, "trung bình"), (2.5101, "giàu"), (3.5, "giàu"), (3.5001, "rất giàu")],
)  # fmt: skip
def test_organic_carbon_grades(value: float, grade: str) -> None:
    assert OC.grade(value) == grade


def test_missing_values_have_no_grade() -> None:
    assert OM.grade(None) is None and OM.grade(math.nan) is None
    assert OM.classify(np.array([np.nan])).tolist() == [-1]


def test_every_table_names_its_source_and_covers_every_number() -> None:
    probe = np.linspace(-100, 200, 30001)
    for table in CONFIG.tables:
        assert table.source.strip()
        assert (table.classify(probe) >= 0).all(), table.key


def _spec(**change) -> dict:
    spec = {"property": "om", "unit": "%", "label_vi": "OM", "source": "test",
            "classes": [{"grade": "nghèo", "lt": 2, "colour": "#fdae61"},
                        {"grade": "giàu", "ge": 2, "colour": "#1a9641"}]}  # fmt: skip
    spec.update(change)
    return spec


@pytest.mark.parametrize(
    ("classes", "words"),
    [
        ([{"grade": "a", "lt": 2, "colour": "#000000"}, {"grade": "b", "gt": 2, "colour": "#000000"}], "neither"),
        ([{"grade": "a", "le": 2, "colour": "#000000"}, {"grade": "b", "ge": 2, "colour": "#000000"}], "both"),
        ([{"grade": "a", "lt": 2, "colour": "#000000"}, {"grade": "b", "ge": 3, "colour": "#000000"}], "starts at 3"),
        ([{"grade": "a", "ge": 0, "lt": 2, "colour": "#000000"}, {"grade": "b", "ge": 2, "colour": "#000000"}], "open below"),
        ([{"grade": "a", "lt": 2, "colour": "red"}, {"grade": "b", "ge": 2, "colour": "#000000"}], "colour"),
        ([], "no classes"),
    ],
)  # fmt: skip
def test_a_table_with_a_gap_an_overlap_or_no_colour_is_refused(classes, words) -> None:
    with pytest.raises(InvalidInput) as err:
        class_table(_spec(classes=classes))
    assert words in err.value.en and err.value.vi.startswith("Bảng phân cấp om (%)")


def test_a_table_without_source_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no source"):
        class_table(_spec(source=" "))


def test_legend_ranges_carry_units() -> None:
    ranges = [c["range"] for c in OM.legend()]
    assert ranges == ["< 1 %", "1 – 2,2 %", "2,2 – 4,3 %", "4,3 – 6 %", "> 6 %"]
    assert PH.legend()[0]["range"] == "pH < 4,5"
    k = CONFIG.table("k2o_available", "mg/100g")
    assert k.legend()[-1]["range"] == "≥ 20 mg/100 g" and k.format(12.345) == "12,3 mg/100 g"
    assert PH.format(4.8) == "pH 4,80" and OM.format(1234.5) == "1.234,50 %"


def test_conversions_bring_other_units_into_the_table_unit() -> None:
    table, factor = CONFIG.to_table_unit("om", "g/kg")
    assert table is OM and factor == pytest.approx(0.1)
    assert CONFIG.to_table_unit("ph_kcl", "pH×10")[1] == pytest.approx(0.1)
    with pytest.raises(InvalidInput) as err:
        CONFIG.to_table_unit("om", "kg/ha")
    assert "Units with a table: %" in err.value.message("en")


def test_changing_the_table_changes_colours_legend_zones_statistics_and_advice() -> None:
    """One edit of the OM table (medium from 2.0 instead of 2.2, a new colour) reaches
    everything that grades: tile colours, legend, zones, field statistics, the note."""
    data = json.loads((files("layers") / "soil_classes.json").read_text(encoding="utf-8"))
    edited = copy.deepcopy(data)
    om = next(t for t in edited["tables"] if t["property"] == "om")
    om["classes"][1]["le"] = 2.0
    om["classes"][2]["gt"] = 2.0
    om["classes"][2]["colour"] = "#123456"
    before, after = soil_config(data), soil_config(edited)
    values = np.full((4, 4), 2.1)
    values[:, 2:] = 5.0
    valid = np.ones_like(values, dtype=bool)
    transform = Affine(0.001, 0, 104.0, 0, -0.001, 22.4)
    results = {}
    for name, config in (("before", before), ("after", after)):
        table = config.table("om", "%")
        img = colourise(values, valid, table)
        zones = graded_zones(values, valid, transform, table, min_cells=1, simplify=0)
        stats = summarise_cells(table, values[:, :2].ravel(), np.ones(8), field_cells=8)
        note = advice_note(config, [stats])
        results[name] = (tuple(img[:3, 0, 0]), table.legend()[2]["range"],
                         sorted(z.grade for z in zones), stats["grade"], note)  # fmt: skip
    assert results["before"][0] == (0xFD, 0xAE, 0x61)  # 2.1 % is poor: orange
    assert results["after"][0] == (0x12, 0x34, 0x56)  # now medium, in the new colour
    assert results["before"][1] == "2,2 – 4,3 %" and results["after"][1] == "2 – 4,3 %"
    assert results["before"][2] == ["giàu", "nghèo"] and results["after"][2] == [
        "giàu",
        "trung bình",
    ]
    assert (results["before"][3], results["after"][3]) == ("nghèo", "trung bình")
    assert "thấp" in results["before"][4][0] and "trung bình" in results["after"][4][0]


def test_advice_names_the_value_with_its_unit() -> None:
    stats = summarise_cells(PH, np.array([4.2, 4.3]), np.array([1.0, 1.0]), field_cells=2)
    note = advice_note(CONFIG, [stats])
    assert note and note[0].startswith("Đất rất chua (pH 4,25)") and "vôi" in note[0]
    assert advice_note(CONFIG, [stats], lang="en")[0].startswith("Very acid soil (pH 4,25)")


def test_advice_naming_an_unknown_grade_is_refused() -> None:
    data = json.loads((files("layers") / "soil_classes.json").read_text(encoding="utf-8"))
    data["advice"].append({"property": "om", "grades": ["tuyệt vời"], "vi": "x"})
    with pytest.raises(InvalidInput, match="tuyệt vời"):
        soil_config(data)
