"""`zoo data synth` never writes one market over another (issue 17): asked for another seed on
a home holding a market, it refuses before writing anything and says to use --replace."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zoo.cli import main

SMALL = ["--stocks", "24", "--set", "neighbours_k=4", "--start", "20200101", "--end", "20200601"]


def synth(*args: str):
    return CliRunner().invoke(main, ["data", "synth", *SMALL, *args])


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under `root` by its content, and its modification time."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            + f"@{p.stat().st_mtime_ns}" for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home holding seed 5's market, loaded."""
    path = tmp_path / "home"
    monkeypatch.setenv("ZOO_HOME", str(path))
    done = synth("--seed", "5")
    assert done.exit_code == 0, done.output
    return path


def test_another_seed_without_replace_is_refused_before_writing(home: Path) -> None:
    before = fingerprint(home)
    refused = synth("--seed", "6")
    assert refused.exit_code == 1, refused.output
    assert isinstance(refused.exception, SystemExit)
    message = " ".join(refused.output.split())
    assert (f"{home / 'synth'} holds the synthetic market of another config (seed 5 -> 6)"
            in message)
    assert "Nothing was written" in message and "Use --replace" in message
    assert fingerprint(home) == before  # the folder and the warehouse, byte for byte


def test_the_same_market_again_loads_nothing_new(home: Path) -> None:
    again = synth("--seed", "5")
    assert again.exit_code == 0, again.output
    assert ": 0 new rows" in again.output
    assert json.loads((home / "synth" / "synth_config.json").read_text())["seed"] == 5


def test_replace_writes_and_loads_the_other_market(home: Path) -> None:
    replaced = synth("--seed", "6", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads((home / "synth" / "synth_config.json").read_text())["seed"] == 6
    assert "synth_config.json" not in replaced.output  # passed over by the loader, not listed


def test_a_warehouse_holding_another_market_is_refused(home: Path, tmp_path: Path) -> None:
    """The folder asked for is new, but the warehouse holds seed 5: loading seed 7 over it
    would fail. --no-load only writes the files, which is allowed."""
    elsewhere = tmp_path / "elsewhere"
    before = fingerprint(home)
    refused = synth("--seed", "7", "--out", str(elsewhere))
    assert refused.exit_code == 1, refused.output
    assert "holds raw data that is not" in " ".join(refused.output.split())
    assert not elsewhere.exists() and fingerprint(home) == before
    files_only = synth("--seed", "7", "--out", str(elsewhere), "--no-load")
    assert files_only.exit_code == 0, files_only.output
    assert (elsewhere / "AShareEODPrices.parquet").is_file()


def test_a_market_folder_without_a_record_is_not_guessed(home: Path) -> None:
    (home / "synth" / "synth_config.json").unlink()  # as an older zoo wrote it
    before = fingerprint(home)
    refused = synth("--seed", "5")
    assert refused.exit_code == 1, refused.output
    assert "whose config is not recorded" in " ".join(refused.output.split())
    assert fingerprint(home) == before
