"""The ``critmin`` command line (Typer). One module per command group."""

from __future__ import annotations

import os
import sys

import typer

from critmin._version import __version__
from critmin.cli._output import print_error
from critmin.cli.backtest import backtest_cmd, calibrate_cmd
from critmin.cli.criticality import criticality_cmd
from critmin.cli.data import data_app
from critmin.cli.exposure import exposure_cmd
from critmin.cli.floor import floor_cmd, stockpile_cmd
from critmin.cli.plan import plan_cmd
from critmin.cli.report import report_cmd
from critmin.cli.runs import runs_app
from critmin.cli.scenarios import scenarios_app
from critmin.cli.screen import screen_cmd
from critmin.cli.sensitivity import sensitivity_cmd
from critmin.cli.serve import serve_cmd
from critmin.cli.simulate import simulate_cmd
from critmin.cli.trace import trace_app
from critmin.cli.trace_country import trace_country_cmd
from critmin.errors import CritminError, shown
from critmin.lazy import lazy_submodules

app = typer.Typer(
    name="critmin",
    help="Stress-test critical-mineral supply chains on cited public data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data_app, name="data")
trace_app.command("country")(trace_country_cmd)
app.add_typer(trace_app, name="trace")
app.command("exposure")(exposure_cmd)
app.command("summary", help="Alias of `critmin exposure` (the demo).")(exposure_cmd)
app.command("criticality")(criticality_cmd)
app.command("simulate")(simulate_cmd)
app.add_typer(scenarios_app, name="scenarios")
app.add_typer(runs_app, name="runs")
app.command("report")(report_cmd)
app.command("screen")(screen_cmd)
app.command("sensitivity")(sensitivity_cmd)
app.command("backtest")(backtest_cmd)
app.command("calibrate")(calibrate_cmd)
app.command("floor")(floor_cmd)
app.command("stockpile")(stockpile_cmd)
app.command("serve")(serve_cmd)
app.command("plan")(plan_cmd)


__getattr__, __dir__ = lazy_submodules(__name__)


def _version(value: bool) -> None:
    if value:
        print(f"critmin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """critmin: exposure, tracing, disruption and response for critical minerals."""


def _given(exc: Exception) -> str:
    """`` (given '0')``: the value the user gave to the option an error is about, from argv."""
    opts = getattr(getattr(exc, "param", None), "opts", None) or []
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return _quoted(argv[i + 1])
            if arg.startswith(opt + "="):
                return _quoted(arg[len(opt) + 1 :])
    return ""


def _quoted(value: str) -> str:
    return f" (given {shown(value)})"


def main() -> None:
    """Entry point: run the app, turning critmin errors into one readable line and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        print_error("interrupted; nothing was written")
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors: one line, like every other error
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and callable(show):  # `critmin data` alone
            show()
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        where = f"see `{ctx.command_path} --help`" if ctx is not None else "see `critmin --help`"
        print_error(f"{exc.format_message().rstrip('.')}{_given(exc)}. Fix: {where}")
        sys.exit(exc.exit_code)
    except CritminError as exc:
        print_error(str(exc))
        sys.exit(2)
    except MemoryError:
        print_error(
            "out of memory. Fix: run fewer paths or a smaller file, or scale out (--workers/--scheduler)"
        )
        sys.exit(2)
    except BrokenPipeError:  # `critmin ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        print_error("interrupted; nothing was written")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
