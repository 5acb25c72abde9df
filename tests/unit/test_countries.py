from __future__ import annotations

import pytest

from critmin.errors import UnknownCountryError
from critmin.model.countries import (
    country_name,
    from_world_bank_code,
    is_country,
    is_known_code,
    parse_source_name,
    to_iso3,
)


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("Burma", "MMR"),
        ("Congo (Kinshasa)", "COD"),
        ("Korea, Republic of", "KOR"),
        ("Korea, North", "PRK"),
        ("Russia", "RUS"),
        ("Turkey", "TUR"),
        ("Côte d\u2019Ivoire", "CIV"),
        ("United\u00a0States", "USA"),
        ("Vietnam\u00a0", "VNM"),
        ("China", "CHN"),
        ("AUS", "AUS"),
    ],
)
def test_publisher_spellings(label: str, code: str) -> None:
    assert to_iso3(label) == code


def test_fused_footnote_digits_are_stripped_and_kept() -> None:
    lab = parse_source_name("New Caledonia11")
    assert (lab.code, lab.footnote) == ("NCL", "11")
    assert parse_source_name("Belgium8").code == "BEL"


def test_trailing_e_marks_estimate_but_not_in_real_names() -> None:
    assert parse_source_name("Russiae").estimated is True
    assert parse_source_name("Russiae").code == "RUS"
    assert parse_source_name("Korea, Republic ofe").code == "KOR"
    for name, code in [("Ukraine", "UKR"), ("Greece", "GRC"), ("Zimbabwe", "ZWE"), ("Mozambique", "MOZ")]:
        lab = parse_source_name(name)
        assert (lab.code, lab.estimated) == (code, False)


def test_aggregates() -> None:
    assert to_iso3("World total (rounded)") == "WLD"
    assert parse_source_name("World total (rounded)10").footnote == "10"
    assert to_iso3("Other countries4") == "OTH"
    assert to_iso3("Other countries\u00a0") == "OTH"
    assert to_iso3("CHN+MYS+AUS") == "CHN+MYS+AUS"
    assert not is_country("WLD")
    assert not is_country("OTH")
    assert is_known_code("CHN+MYS+AUS")
    assert not is_known_code("CHN+XXX")


def test_qualifiers_are_stripped() -> None:
    lab = parse_source_name("Brazil (crude and beneficiated)9")
    assert (lab.code, lab.qualifier, lab.footnote) == ("BRA", "crude and beneficiated", "9")
    assert parse_source_name("Peru, crude borates").qualifier == "crude borates"


@pytest.mark.parametrize(
    ("wb", "iso"),
    [("ROM", "ROU"), ("ZAR", "COD"), ("TMP", "TLS"), ("ADO", "AND"), ("WBG", "PSE"), ("KSV", "XKX")],
)
def test_world_bank_legacy_codes(wb: str, iso: str) -> None:
    assert from_world_bank_code(wb) == iso


def test_unknown_name_names_file_line_and_fix() -> None:
    with pytest.raises(UnknownCountryError) as exc:
        parse_source_name("Atlantis", path="x.csv", line=7, column="Country")
    msg = str(exc.value)
    assert "x.csv:7" in msg
    assert "'Country'" in msg
    assert "Fix:" in msg


def test_unknown_world_bank_code() -> None:
    with pytest.raises(UnknownCountryError, match="QQQ"):
        from_world_bank_code("QQQ")


def test_country_name() -> None:
    assert country_name("CHN") == "China"
    assert country_name("WLD") == "World total"
