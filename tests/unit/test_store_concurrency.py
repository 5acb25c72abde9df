"""N readers and 2 writers on one store, as real ``critmin`` processes (issue 11).

Every exit code tells the truth: a writer that exits 0 committed (its import id is in the final
store) and printed "imported" once; readers (``data imports``, ``exposure``) never fail; the
final store holds exactly the committed imports.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from critmin.store.duckdb_store import Store

EXE = Path(sys.executable).parent / "critmin"
HEADER = "commodity,stage,measure,country,year,value,unit,source_id,source_title,source_url\n"


def _overlay(path: Path, i: int) -> Path:
    rows = "".join(
        f"rare_earths,mining,production,{c},{2000 + i},{5 + k},t,w-{i},Writer {i},https://ex.org/{i}\n"
        for k, c in enumerate(["AUS", "USA", "CAN", "BRA"])
    )
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _spawn(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CRITMIN_HOME": str(home), "COLUMNS": "200", "CRITMIN_STORE_WAIT_S": "60"}
    return subprocess.Popen(
        [str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_readers_and_two_writers_share_one_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # writer w imports overlays w, w+2, w+4 one after another (a shell loop per writer)
    files = [_overlay(tmp_path / f"ov{i}.csv", i) for i in range(6)]
    writers = [
        _spawn(["data", "import", "overlay", str(files[0])], home),
        _spawn(["data", "import", "overlay", str(files[1])], home),
    ]
    readers = [
        _spawn(["data", "imports", "--format", "csv"], home),
        _spawn(["exposure", "--commodity", "rare_earths", "--format", "csv"], home),
        _spawn(["data", "imports"], home),
        _spawn(["exposure", "--commodity", "rare_earths", "--format", "json"], home),
    ]
    results: list[tuple[list[str], int, str, str]] = []
    queue = {0: [files[2], files[4]], 1: [files[3], files[5]]}
    procs = {id(p): (w, p) for w, p in enumerate(writers)}
    while procs:
        for key, (w, p) in list(procs.items()):
            if p.poll() is None:
                continue
            out, err = p.communicate()
            results.append((list(map(str, p.args))[1:], p.returncode, out, err))  # type: ignore[arg-type]
            del procs[key]
            if queue[w]:
                nxt = _spawn(["data", "import", "overlay", str(queue[w].pop(0))], home)
                procs[id(nxt)] = (w, nxt)
                readers.append(_spawn(["data", "imports", "--format", "json"], home))
    for r in readers:
        out, err = r.communicate(timeout=300)
        assert r.returncode == 0, err  # no failure for readers
        assert "Traceback" not in err
    committed = set()
    for _args, rc, out, err in results:
        assert "Traceback" not in err
        if rc == 0:
            m = re.search(r"as (overlay:\S+)", out.replace("\n", " "))
            assert m, out
            committed.add(m.group(1))
            assert out.count("imported") == 1
        else:
            assert "imported" not in out, (out, err)  # never "imported" and then a failure
    assert len(results) == 6
    final = {r.import_id for r in Store.open(home).imports()}
    assert final == committed
    assert len(committed) == 6  # with a 60 s wait every writer gets its turn
