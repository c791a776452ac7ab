"""What a synthetic market folder records about itself, and the check that keeps `zoo data synth`
from writing one market over another.

`generate` writes the config that made the market into the folder (`synth_config.json`, which
the loader passes over). Before writing, `check_same_market` compares the config asked for with
the one recorded in the folder, and the folder's files with what the warehouse loaded (the
SHA-256 that raw._loads records for every file): another market's files would be overwritten,
and then could not be loaded over the old market (raw rows are immutable), leaving files and
warehouse disagreeing. It raises OtherMarket, which says to use `--replace`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from zoo.atomic import write_json
from zoo.ingest import files, wind
from zoo.synth.config import SynthConfig

RECORD = files.SYNTH_CONFIG


class OtherMarket(ValueError):
    """The folder or the warehouse holds another market than the one asked for."""


def write_record(folder: Path, config: SynthConfig) -> Path:
    return write_json(folder / RECORD, dataclasses.asdict(config))


def recorded_config(out_dir: Path) -> SynthConfig | None:
    """The config recorded in `out_dir`, None when there is none it can read."""
    try:
        return SynthConfig(**json.loads((out_dir / RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def market_files(out_dir: Path) -> list[Path]:
    """The parquet files of a market folder (raw tables and truth) that exist."""
    names = [out_dir / f"{t.name}.parquet" for t in wind.RAW_TABLES]
    names += [out_dir / "truth" / f"{t.name}.parquet" for t in wind.TRUTH_TABLES]
    # a market held out as a first load and daily extracts (zoo.synth.holdout)
    names += sorted((out_dir / "load").glob("*.parquet"))
    names += sorted((out_dir / "extracts").glob("*/*.parquet"))
    return [p for p in names if p.is_file()]


def differences(old: SynthConfig, new: SynthConfig) -> str:
    """'seed 5 -> 6, stocks 60 -> 500' for the fields that differ."""
    changed = [f"{f.name} {getattr(old, f.name)} -> {getattr(new, f.name)}"
               for f in dataclasses.fields(SynthConfig)
               if getattr(old, f.name) != getattr(new, f.name)]
    return ", ".join(changed)


def check_same_market(config: SynthConfig, out_dir: Path, warehouse: Path | None) -> None:
    """Raise OtherMarket, before anything is written, when `out_dir` holds a market of another
    (or an unrecorded) config, or `warehouse` (None: not to be loaded) holds raw data that is
    not this folder's files as they are (another market, another load, or rows retracted
    since). A folder that does not exist yet and an empty warehouse hold nothing to keep."""
    out_dir = Path(out_dir)
    found = market_files(out_dir)
    recorded = recorded_config(out_dir)
    problems = []
    if found and recorded is None:
        problems.append(f"{out_dir} holds a synthetic market whose config is not recorded "
                        f"(no readable {RECORD}: written by an older zoo)")
    elif recorded is not None and recorded != config:
        problems.append(f"{out_dir} holds the synthetic market of another config "
                        f"({differences(recorded, config)})")
    if warehouse is not None and not problems:
        strangers = _foreign_loads(Path(warehouse), found)
        if strangers:
            problems.append(f"{warehouse} holds raw data that is not {out_dir}'s files as they "
                            f"are ({strangers} of the files or retractions in raw._loads): "
                            "another market, another load, or rows retracted since")
    if problems:
        raise OtherMarket(
            "; and ".join(problems) + ". Nothing was written: writing this market there would "
            "overwrite the files, and loading them over the old market would fail (raw rows are "
            "immutable). Use --replace to replace the old market (its files, and everything in "
            "the warehouse: raw, truth and what was built from them), or --out DIR --no-load to "
            "write this one elsewhere.")


def _foreign_loads(warehouse: Path, found: list[Path]) -> int:
    """How many distinct loads recorded in `warehouse` are not one of the files `found`."""
    from zoo.ingest.load import connect
    from zoo.ingest.records import loaded_sha256s

    if not warehouse.is_file():
        return 0
    with connect(warehouse, read_only=True) as con:
        loaded = loaded_sha256s(con)
    if not loaded:
        return 0
    return len(loaded - {files.sha256_of(p) for p in found})
