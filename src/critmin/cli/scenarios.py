"""``critmin scenarios``: list the bundled scenarios and print one (as written, or resolved).

The bundled scenarios live inside the package (``critmin.simulate.bundled_scenarios()`` gives
name -> file), so they are the same in a git clone and a pip install. To start your own::

    critmin scenarios show truce-holds > my.yaml     # edit, then
    critmin simulate my.yaml
"""

from __future__ import annotations

import textwrap
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import typer
import yaml

from critmin.cells import to_csv_text
from critmin.cli._output import Format, console, emit_frame, emit_json
from critmin.cli.choices import enum_option, format_option, nearest
from critmin.errors import DataError
from critmin.infile import check_regular, read_text
from critmin.simulate import Scenario, bundled_scenarios, load_scenario
from critmin.simulate.inputs.yamlload import load_yaml

scenarios_app = typer.Typer(
    help="List the bundled scenarios and print one (copy it to start your own).",
    no_args_is_help=True,
    add_completion=False,
)


#: Characters of a description shown in the table view (all of it in csv/json).
DESCRIPTION_WIDTH = 90


class ShowFormat(StrEnum):
    """How ``critmin scenarios show`` prints a scenario."""

    YAML = "yaml"
    JSON = "json"


@scenarios_app.command("list")
def list_cmd(fmt: Format = format_option()) -> None:
    """Bundled scenarios: name, months, chains, extends, variants and description (table: shortened)."""
    rows: list[dict[str, Any]] = []
    for name, path in bundled_scenarios().items():
        sc = load_scenario(str(path))
        rows.append(
            {
                "name": name,
                "start": sc.start,
                "end": sc.end,
                "chains": list(sc.commodities),
                "extends": _extends(path),
                "variants": list(sc.scenarios),
                "description": " ".join(sc.description.split()),
            }
        )
    if fmt is Format.JSON:
        emit_json({"scenarios": rows})
        return
    frame = pd.DataFrame(
        rows, columns=["name", "start", "end", "chains", "extends", "variants", "description"]
    )
    for col in ("chains", "variants"):
        frame[col] = frame[col].map(", ".join)
    if fmt is Format.CSV:
        print(to_csv_text(frame), end="")
        return
    frame.insert(1, "months", frame["start"] + " to " + frame["end"])
    frame["description"] = frame["description"].map(_shorten)
    emit_frame(frame.drop(columns=["start", "end"]).fillna(""), Format.TABLE, title="Bundled scenarios")
    console.print(
        "Print one with `critmin scenarios show NAME` (add --resolved to apply `extends`); copy it with "
        "`critmin scenarios show NAME > my.yaml`, edit, and run `critmin simulate my.yaml`.",
        style="dim",
        highlight=False,
    )


@scenarios_app.command("show")
def show_cmd(
    name: str = typer.Argument(
        ..., help="A bundled scenario name (see `critmin scenarios list`) or a YAML path."
    ),
    resolved: bool = typer.Option(
        False, "--resolved", help="Print the validated scenario after `extends` (every field), not the file."
    ),
    fmt: ShowFormat = enum_option(ShowFormat.YAML, "--format", "-f", help="yaml or json."),
) -> None:
    """Print a scenario: the file as written (comments kept), or resolved after `extends`."""
    path = scenario_file(name)
    if resolved:
        doc = resolved_document(load_scenario(str(path)))
    elif fmt is ShowFormat.YAML:
        print(read_text(path, "yaml", what="scenario"), end="")  # regular file, size limit, UTF-8
        return
    else:
        doc, _ = load_yaml(read_text(path, "yaml", what="scenario"), path)
    if fmt is ShowFormat.JSON:
        emit_json(doc)
    else:
        print(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), end="")


def scenario_file(name: str) -> Path:
    """The YAML file of a bundled scenario name or a path; unknown names get the nearest ones."""
    p = Path(name)
    if p.suffix in {".yaml", ".yml"} or p.exists():
        return check_regular(p, what="scenario")  # a folder, FIFO or device is named as such
    files = bundled_scenarios()
    if name not in files:
        near = nearest(name, files)
        hint = f"did you mean {near!r}? " if near else ""
        raise DataError(
            f"unknown scenario {name!r}",
            fix=f"{hint}use one of {', '.join(files)} (`critmin scenarios list`), or a YAML path",
        )
    return files[name]


def resolved_document(sc: Scenario) -> dict[str, Any]:
    """The scenario as a plain document (JSON types, unset optional fields left out).

    It validates back to the same scenario: ``extends`` is already applied (and null).
    """
    doc: dict[str, Any] = sc.model_dump(mode="json", exclude_none=True)
    return doc


def _shorten(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    """``text`` cut at a word boundary to ``width`` characters, with an ellipsis."""
    return textwrap.shorten(text, width=width, placeholder=" ...")


def _extends(path: Path) -> str:
    raw, _ = load_yaml(read_text(path, "yaml", what="scenario"), path)
    return str(raw.get("extends") or "") if isinstance(raw, dict) else ""
