"""Security defaults: token on every API call, loopback host names, same-origin writes, body
limits, uploads only in a private folder under fixed names."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from critmin.errors import DataError
from critmin.server.app import check_bind
from critmin.server.guard import host_name, token_matches
from critmin.server.uploads import private_dir, safe_suffix
from tests.unit.server_helpers import BOM, assert_error, client

TOKEN = "s3cret-token-0123456789abcdef"


def test_token_required_on_every_api_call(tmp_path: Path) -> None:
    with client(tmp_path, token=TOKEN) as c:
        assert_error(c.get("/api/v1/health"), 401, "needs a token")
        assert_error(c.get("/api/v1/runs", headers={"Authorization": "Bearer wrong"}), 403, "wrong token")
        assert_error(c.post("/api/v1/simulations", json={}, headers={"X-Critmin-Token": TOKEN[:-1]}), 403)
        ok = c.get("/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert ok.json()["token_required"] is True
        assert c.get("/api/v1/health", headers={"X-Critmin-Token": TOKEN}).status_code == 200
        r = c.get("/api/v1/runs", headers={"Authorization": "Bearer wrong"})
        assert TOKEN not in r.text
        # the dashboard's static files hold no data and need no token
        assert c.get("/").status_code == 200
        # with a token, other host names are allowed (the server is meant to be reachable)
        assert (
            c.get(
                "/api/v1/health", headers={"Host": "critmin.example", "Authorization": f"Bearer {TOKEN}"}
            ).status_code
            == 200
        )


def test_token_compare() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("", TOKEN)
    assert not token_matches(TOKEN + "x", TOKEN)
    assert not token_matches("é", TOKEN)


def test_non_loopback_bind_needs_a_token() -> None:
    with pytest.raises(DataError, match="needs a token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(DataError, match="shorter than 16"):
        check_bind("0.0.0.0", "short")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)


def test_loopback_server_refuses_other_host_names(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        assert_error(
            c.get("/api/v1/health", headers={"Host": "evil.example:8000"}), 403, "loopback names only"
        )
        assert c.get("/api/v1/health", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/api/v1/health", headers={"Host": "[::1]:8000"}).status_code == 200
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("LocalHost:1") == "localhost"
    assert host_name("::1") == "::1"


def test_cross_origin_writes_are_refused(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        r = c.post(
            "/api/v1/screen",
            content=BOM.read_bytes(),
            headers={"content-type": "text/csv", "Origin": "http://evil.example"},
        )
        assert_error(r, 403, "cross-origin")
        same = c.post(
            "/api/v1/screen",
            content=BOM.read_bytes(),
            headers={"content-type": "text/csv", "Origin": "http://127.0.0.1"},
        )
        assert same.status_code == 200, same.text


def test_oversized_upload_and_body(tmp_path: Path) -> None:
    with client(tmp_path, upload_limit=1000, body_limit=2000) as c:
        big = b"x" * 5000
        assert_error(c.post("/api/v1/screen", files={"bom": ("b.csv", big)}), 413, "larger than the limit")
        assert_error(c.post("/api/v1/screen", content=big, headers={"content-type": "text/csv"}), 413)

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"y" * 500

        assert_error(c.post("/api/v1/screen", content=chunks(), headers={"content-type": "text/csv"}), 413)
        assert_error(c.post("/api/v1/scenarios/validate", json={"scenario_yaml": "x" * 3000}), 413)
        assert c.get("/api/v1/health").status_code == 200  # still serving


def test_path_traversal_file_name_stays_in_the_private_folder(tmp_path: Path) -> None:
    target = tmp_path / "escaped.csv"
    evil = os.path.relpath(target, tempfile.gettempdir())  # ../../... to a file outside the temp dir
    before = set(Path(tempfile.gettempdir()).glob("critmin-upload-*"))
    with client(tmp_path) as c:
        for name in (evil, "../../../etc/passwd", "/etc/passwd", "..\\..\\x.csv", "bom.csv\x00.sh"):
            r = c.post(
                "/api/v1/screen",
                params={"as_of": "2026-01-15"},
                files={"bom": (name, BOM.read_bytes(), "text/csv")},
            )
            assert r.status_code == 200, (name, r.text)
    assert not target.exists()
    assert set(Path(tempfile.gettempdir()).glob("critmin-upload-*")) == before  # removed after each request


def test_private_dir_is_0700_and_removed() -> None:
    with private_dir() as d:
        assert (d.stat().st_mode & 0o777) == 0o700
        (d / "x").write_text("1")
    assert not d.exists()


def test_safe_suffix_only_picks_allowed_suffixes() -> None:
    allowed = (".csv", ".csv.gz", ".parquet")
    assert safe_suffix("a.CSV.GZ", allowed) == ".csv.gz"
    assert safe_suffix("../../x.parquet", allowed) == ".parquet"
    assert safe_suffix("x.sh", allowed) == ".csv"
    assert safe_suffix(None, allowed) == ".csv"


def test_a_bad_request_never_crashes_the_server(tmp_path: Path) -> None:
    with client(tmp_path) as c:
        for r in (
            c.post("/api/v1/screen", content=b"\xff\xfe\x00garbage", headers={"content-type": "text/csv"}),
            c.post("/api/v1/screen", content=b"", headers={"content-type": "multipart/form-data"}),
            c.post("/api/v1/simulations", content=b"[1,2", headers={"content-type": "application/json"}),
            c.get("/api/v1/trace/country", params={"year": "9" * 400}),
            c.get("/api/v1/exposure", params={"commodity": "x" * 10000}),
        ):
            assert 400 <= r.status_code < 500, r.text
            assert set(r.json()) == {"error", "field", "fix"}
        assert c.get("/api/v1/health").status_code == 200
