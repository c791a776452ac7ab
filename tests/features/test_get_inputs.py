"""`zoo features get` with awkward inputs: empty entity frames, ids of the wrong type, offsets
that differ row to row or are missing, a bad --sample, and an --out that cannot be written.
Each gives the right rows or a clear error, never a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from zoo.cli import main

STYLE = ["features", "get", "--service", "style_v1"]


@pytest.fixture(scope="module")
def home(feast_home):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(feast_home))
        yield feast_home


def _get(*arguments: str):
    return CliRunner().invoke(main, [*STYLE, *arguments])


def _refused(result, *says: str) -> None:
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for text in says:
        assert text in result.output, result.output


def test_a_header_only_csv_gives_no_rows(home, tmp_path):
    csv = tmp_path / "entities.csv"
    csv.write_text("stock_id,event_timestamp\n")
    result = _get("--entities", str(csv))
    assert result.exit_code == 0, result.output
    assert "(0 rows)" in result.output


@pytest.mark.parametrize("ids", [[], pd.Series([], dtype=float)])
def test_an_empty_parquet_frame_gives_no_rows_whatever_its_id_type(ids, home, tmp_path):
    path = tmp_path / "entities.parquet"
    pd.DataFrame({"stock_id": ids,
                  "event_timestamp": pd.Series([], dtype="datetime64[ns, UTC]")}
                 ).to_parquet(path)
    out = tmp_path / "out.parquet"
    result = _get("--entities", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(out)
    assert len(got) == 0 and "size" in got.columns


def test_integer_stock_ids_are_a_clear_error(home, tmp_path):
    path = tmp_path / "entities.parquet"
    pd.DataFrame({"stock_id": [1, 2], "event_timestamp": pd.to_datetime(
        ["2020-06-30 07:00"] * 2).tz_localize("UTC")}).to_parquet(path)
    _refused(_get("--entities", str(path)), "'stock_id' holds int64 values",
             "stock_style_daily", "'000001.SZ'")


def test_offsets_may_differ_row_to_row(home, tmp_path):
    """The same instant written with two offsets is the same entity time."""
    csv = tmp_path / "entities.csv"
    csv.write_text("stock_id,event_timestamp\n000001.SZ,2020-06-30T15:00:00+08:00\n"
                   "000001.SZ,2020-06-30T07:00:00Z\n000001.SZ,2020-06-30T09:00:00+02:00\n")
    out = tmp_path / "out.csv"
    result = _get("--entities", str(csv), "--out", str(out))
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out)
    assert len(got) == 3 and got["size"].notna().all() and got["size"].nunique() == 1
    assert set(pd.to_datetime(got["event_timestamp"], utc=True)) == {
        pd.Timestamp("2020-06-30 07:00", tz="UTC")}


def test_a_time_without_an_offset_is_named(home, tmp_path):
    csv = tmp_path / "entities.csv"
    csv.write_text("stock_id,event_timestamp\n000001.SZ,2020-06-30T15:00:00+08:00\n"
                   "000002.SZ,2020-06-30 15:00:00\n")
    _refused(_get("--entities", str(csv)), "1 value(s) of event_timestamp do not say their "
             "offset", "row 3: '2020-06-30 15:00:00'")


@pytest.mark.parametrize("n", ["-1", "0"])
def test_a_sample_needs_a_positive_size(n, home):
    _refused(_get("--sample", n), "--sample")


@pytest.fixture
def full_device(tmp_path) -> Path:
    """A device that refuses every write, like /dev/full. As root, a private one: a failed
    write must never be able to delete the system's."""
    if os.geteuid() == 0:
        path = tmp_path / "full"
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        return path
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full here")
    return Path("/dev/full")


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_an_out_that_cannot_be_written_is_a_clear_error(suffix, home, full_device):
    if suffix:  # the format follows the suffix: a link named .csv to the device
        link = full_device.with_name(f"full{suffix}")
        link.symlink_to(full_device)
        out = link
    else:
        out = full_device
    _refused(_get("--sample", "3", "--out", str(out)), f"cannot write {out}",
             "No space left on device")
    assert full_device.is_char_device()  # written to, not deleted or replaced


def test_out_is_replaced_whole(home, tmp_path):
    out = tmp_path / "out.parquet"
    out.write_text("an earlier file")
    result = _get("--sample", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
