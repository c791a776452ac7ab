"""`zoo bench zoo`: the verdicts it draws from measured figures, its table, and one training
child on fake cross-sections (the benchmark itself trains for hours)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from zoo.bench import real, zoo
from zoo.bench.zoo import verdicts


def _run(market: str, model: str, seed: int, ic: float, oracle: float = 0.15,
         fundamental: float = 0.1) -> dict:
    return {"market": market, "model": model, "seed": seed, "weekly_rank_ic": ic,
            "oracle_weekly_rank_ic": oracle, "style": {"fundamental_abs_corr": fundamental}}


def test_verdicts_judge_the_oracle_share_the_ablation_and_style():
    runs = [
        *[_run("neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.12, 0.11, 0.13))],
        *[_run("neighbour", "biagru", s, ic) for s, ic in enumerate((0.08, 0.09, 0.085))],
        _run("neighbour", "fund_gru_mlp", 0, 0.05, fundamental=0.4),
        *[_run("no_neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.08, 0.09, 0.07))],
        *[_run("no_neighbour", "biagru", s, ic) for s, ic in enumerate((0.08, 0.085, 0.075))],
    ]
    out = verdicts({"runs": runs, "full_market_day": {"peak_rss_mib": 1600}})
    assert math.isclose(out["biagru_gat_share_of_oracle"], 0.12 / 0.15, abs_tol=1e-3)
    assert out["biagru_gat_reaches_70pct_of_oracle"] is True
    assert out["neighbour_gat_beats_biagru_beyond_spread"] is True
    assert out["no_neighbour_gat_beats_biagru_beyond_spread"] is False
    assert out["fund_gru_mlp_more_fundamental"] is True
    assert out["full_market_day_under_8gib"] is True


def test_one_seed_gives_no_spread_verdict_and_a_weak_model_fails():
    runs = [_run("neighbour", "biagru_gat", 0, 0.03), _run("neighbour", "biagru", 0, 0.02)]
    out = verdicts({"runs": runs})
    assert out["biagru_gat_reaches_70pct_of_oracle"] is False
    assert out["neighbour_gat_beats_biagru_beyond_spread"] is None


def test_the_peers_are_benched_beside_the_seed_reports_models():
    assert set(zoo.PEERS) == {"gats", "alstm", "xgb_window"}
    assert zoo.ALL_MODELS == (*zoo.SEED_REPORT_MODELS, *zoo.PEERS)
    assert "xgb_window" in real.MODELS and "gats" in real.MODELS


def test_verdicts_give_biagru_gats_margin_over_each_peer():
    runs = [_run("neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.12, 0.10))]
    runs += [_run("neighbour", "gats", 0, 0.05), _run("neighbour", "xgb_window", 0, 0.13)]
    out = verdicts({"runs": runs})
    assert out["biagru_gat_minus_gats"] == 0.06
    assert out["biagru_gat_minus_xgb_window"] == -0.02
    assert "biagru_gat_minus_alstm" not in out


def test_the_table_prints_wall_and_cpu_seconds_per_epoch():
    row = {**_run("neighbour", "xgb_window", 0, 0.05), "train_samples_per_second": 12345.6,
           "seconds_per_epoch": 20.04, "cpu_seconds_per_epoch": 37.96, "cpu_seconds": 1234.4,
           "peak_rss_mib": 2048}
    (printed,) = zoo.table_rows([row])
    columns = [c if isinstance(c, str) else c[0] for c in zoo.TABLE_COLUMNS]
    assert len(printed) == len(columns)
    cells = dict(zip(columns, printed, strict=True))
    assert cells["wall s/epoch"] == "20.0" and cells["CPU s/epoch"] == "38.0"
    assert cells["CPU s"] == "1,234" and cells["share"] == "33%"
    older = {k: v for k, v in row.items() if k != "cpu_seconds_per_epoch"}  # older figures
    assert zoo.table_rows([older])[0][columns.index("CPU s/epoch")] == "nan"


def test_model_settings_drop_only_the_options_a_model_does_not_take():
    settings = ("max_epochs=2", "model.hidden_channels=32", "model.xgb_n_estimators=50")
    assert zoo.model_settings("gats", settings) == settings[:2]
    assert zoo.model_settings("xgb_window", settings) == ("max_epochs=2",
                                                          "model.xgb_n_estimators=50")


@pytest.mark.parametrize("model", ["xgb_window", "gats"])
def test_a_bench_training_child_reports_wall_and_cpu_seconds_per_epoch(model, tmp_path,
                                                                        monkeypatch):
    """`train` as `run` calls it, its child training on seeded fake cross-sections instead of
    a market: the shared options reach each model as it can take them."""
    monkeypatch.setattr(zoo.harness, "zoo_command", lambda *args: [
        sys.executable, "-m", "zoo.cli", *args, "--fake", "--fake-stocks", "12"])
    settings = ("first_test_year=2018", "train_years=1", "max_epochs=1", "days_per_epoch=5",
                "model.hidden_channels=4", "model.xgb_n_estimators=10")
    done = zoo.train(tmp_path / "home", model, 0, settings, tmp_path / "logs")
    assert done["model"] == model and done["epochs"] == 1
    assert done["seconds_per_epoch"] > 0 and done["cpu_seconds_per_epoch"] > 0
    assert done["cpu_seconds"] > 0 and done["peak_rss_mib"] > 0
    config = json.loads((Path(done["run_dir"]) / "config.json").read_text())
    assert ("hidden_channels" in config["model_overrides"]) == (model == "gats")


def test_the_latent_market_is_a_valid_market_whose_links_the_graph_must_earn():
    from zoo.synth import SynthConfig

    overrides = zoo.MARKETS["latent"]
    config = SynthConfig.from_overrides({}, tuple(f"{k}={v}" for k, v in overrides.items()))
    assert config.links == "latent" and config.neighbour > 0
    assert SynthConfig.from_overrides({}, ()).links == "ratios"  # the `neighbour` market's


def test_verdicts_say_how_much_of_the_gain_survives_on_the_latent_market():
    runs = [*[_run("neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.12, 0.11))],
            *[_run("neighbour", "biagru", s, ic) for s, ic in enumerate((0.06, 0.05))],
            *[_run("latent", "biagru_gat", s, ic) for s, ic in enumerate((0.075, 0.07))],
            *[_run("latent", "biagru", s, ic) for s, ic in enumerate((0.06, 0.05))]]
    out = verdicts({"runs": runs})
    assert out["latent_gat_minus_biagru"] == 0.0175
    assert out["latent_keeps_share_of_gat_gain"] == round(0.0175 / 0.06, 3)
    assert out["latent_gat_beats_biagru_beyond_spread"] is True


def test_the_market_table_gives_recall_beside_the_mean_and_spread_over_seeds():
    runs = [*[_run("neighbour", "biagru_gat", s, ic) for s, ic in enumerate((0.12, 0.10))],
            *[_run("neighbour", "biagru", s, ic) for s, ic in enumerate((0.06, 0.05))],
            _run("latent", "biagru", 0, 0.055)]
    markets = {"neighbour": {"recall": {"recall": 0.93, "chance": 0.021},
                             "probe": {"own": 0.05, "own_graph": 0.11, "own_planted": 0.12}},
               "latent": {}}
    rows = {row[0]: row for row in zoo.market_rows({"markets": markets, "runs": runs})}
    columns = [c if isinstance(c, str) else c[0] for c in zoo.MARKET_COLUMNS]
    neighbour = dict(zip(columns, rows["neighbour"], strict=True))
    assert neighbour["graph recall"] == "93%" and neighbour["chance"] == "2.1%"
    assert neighbour["biagru_gat"] == "+0.1100 ± 0.0141 (2)"
    assert neighbour["gat - biagru"] == "+0.0550" and neighbour["oracle"] == "+0.1500"
    assert neighbour["+ graph nbrs"] == "+0.1100"
    latent = dict(zip(columns, rows["latent"], strict=True))
    assert latent["biagru"] == "+0.0550 (1)" and latent["biagru_gat"] == "-"
    assert latent["gat - biagru"] == "-" and latent["graph recall"] == "-"


def test_the_peers_train_on_both_link_mechanisms_and_on_real_data():
    assert set(zoo.ALL_MODEL_MARKETS) == {"neighbour", "latent", "real"}
    assert "no_neighbour" not in zoo.ALL_MODEL_MARKETS  # the ablation only
    assert zoo.REAL in zoo.MARKET_NAMES and zoo.REAL not in zoo.MARKETS  # not synthesised


def test_verdicts_give_the_peer_margins_on_every_market_the_peers_train_on():
    runs = [_run("neighbour", "biagru_gat", 0, 0.12), _run("neighbour", "gats", 0, 0.05),
            _run("latent", "biagru_gat", 0, 0.04), _run("latent", "gats", 0, 0.05),
            _run("real", "biagru_gat", 0, 0.03, oracle=math.nan),
            _run("real", "alstm", 0, 0.01, oracle=math.nan)]
    out = verdicts({"runs": runs})
    assert out["biagru_gat_minus_gats"] == 0.07
    assert out["latent_biagru_gat_minus_gats"] == -0.01
    assert out["real_biagru_gat_minus_alstm"] == 0.02
    assert "real_biagru_gat_minus_gats" not in out
    assert "biagru_gat_reaches_70pct_of_oracle" in out  # judged on `neighbour` only


def test_a_market_without_truth_prints_no_oracle_and_every_model_gets_a_row_per_market():
    fields = {"train_samples_per_second": 1.0, "seconds_per_epoch": 1.0,
              "cpu_seconds_per_epoch": 1.0, "cpu_seconds": 1.0, "peak_rss_mib": 1}
    runs = [{**_run("real", "gats", 0, 0.02, oracle=math.nan), **fields},
            {**_run("neighbour", "gats", 0, 0.05), **fields},
            {**_run("neighbour", "biagru", 0, 0.06), **fields},
            {**_run("neighbour", "biagru", 1, 0.04), **fields}]
    columns = [c if isinstance(c, str) else c[0] for c in zoo.TABLE_COLUMNS]
    real_row = dict(zip(columns, zoo.table_rows(runs[:1])[0], strict=True))
    assert real_row["oracle"] == "-" and real_row["share"] == "-"
    markets = {"neighbour": {}, "latent": {}, "real": {}}  # latent: built, nothing trained
    header, rows = zoo.model_rows({"markets": markets, "runs": runs})
    assert header == ["model", "neighbour", "real"]
    by_model = {row[0]: row for row in rows}
    assert by_model["gats"] == ("gats", "+0.0500 (1)", "+0.0200 (1)")
    assert by_model["biagru"] == ("biagru", "+0.0500 ± 0.0141 (2)", "-")


def test_the_real_market_is_rebuilt_only_when_its_files_or_the_code_change(tmp_path,
                                                                             monkeypatch):
    src = tmp_path / "sample"
    src.mkdir()
    (src / "sz.000001.csv").write_text("date,code\n")
    built = []

    def fake_build(source, home, logs):
        home.mkdir(parents=True, exist_ok=True)
        built.append(source)
        return {"import": {"seconds": 1.0}}

    monkeypatch.setattr(zoo, "build_real_home", fake_build)
    home = tmp_path / "real"
    assert zoo.build_real(src, home, tmp_path)["reused"] is False
    assert zoo.build_real(src, home, tmp_path)["reused"] is True
    (src / "sz.000002.csv").write_text("date,code\n")  # a new stock in the sample
    assert zoo.build_real(src, home, tmp_path)["reused"] is False
    assert len(built) == 2


def test_the_real_market_needs_its_folder(tmp_path):
    from click.testing import CliRunner

    from zoo.cli import main

    result = CliRunner().invoke(main, ["bench", "zoo", "--market", "real", "--real-src",
                                       str(tmp_path / "missing"), "--skip-full-market"])
    assert result.exit_code != 0 and "--real-src" in result.output
