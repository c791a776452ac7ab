"""The command line: `zoo --help` stays instant because heavy libraries load lazily."""

import subprocess
import sys

from click.testing import CliRunner

from zoo.cli import main

HEAVY = ("torch", "polars", "duckdb", "pandas", "feast", "sqlmesh", "xgboost", "cvxpy", "pandera")


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from zoo.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_help_lists_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "data" in result.output and "bench" in result.output


def test_unknown_synth_override_is_an_error(tmp_path):
    result = CliRunner().invoke(
        main, ["data", "synth", "--out", str(tmp_path), "--no-load", "--set", "neighbor=0"]
    )
    assert result.exit_code != 0
    assert "neighbour" in str(result.exception) + result.output


def test_python_dash_m_zoo_cli_is_the_zoo_command():
    # zoo bench zoo runs its trainings as `python -m zoo.cli ...`
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "zoo.cli", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "backtest" in done.stdout, done.stderr
