"""The report's window, titles, language and figures (issue 20): factors are measured over the
days every scored model has scores, each title says that window, figures are labelled in
Chinese with a font that draws it, the oracle does not flatten the models' NAV, and no legend
covers a bar."""

from __future__ import annotations

import re
import warnings

import pytest
from click.testing import CliRunner

from zoo.cli import main


@pytest.fixture(scope="module")
def evaluations(eval_home):
    """fake_good, fake_noise (scored over 2020) and the oracle (2019-2020), aligned the way
    `zoo report` aligns them."""
    from zoo.evaluate.evaluation import EvalConfig, evaluate
    from zoo.evaluate.inputs import common_window, connect, resolve

    con = connect(eval_home / "warehouse.duckdb")
    try:
        names = ["fake_good", "fake_noise", "oracle"]
        window = common_window(con, [resolve(con, n) for n in names])
        config = EvalConfig(horizons=(5, 20), start=window[0], end=window[1])
        return window, [evaluate(n, config, con=con) for n in names]
    finally:
        con.close()


def test_the_window_is_the_scored_models_common_one(evaluations):
    (first, last), found = evaluations
    assert first.year == 2020 and last.year == 2020  # the oracle alone would start in 2019
    assert {(e.first_date, e.last_date) for e in found} == {(found[0].first_date,
                                                             found[0].last_date)}
    assert found[0].first_date == first


def test_every_title_carries_the_window(evaluations):
    from zoo.evaluate import tables

    _, found = evaluations
    span = f"（{found[0].first_date:%Y.%m}-{found[0].last_date:%Y.%m}）"
    for section in tables.sections(found):
        for table in section.tables:
            on_one_date = re.search(r"（\d{4}\.\d{2}\.\d{2}）", table.title)
            assert span in table.title or on_one_date, table.title
        for figure in section.figures:
            assert span in figure.title or re.search(r"（\d{4}\.\d{2}\.\d{2}）", figure.title)
    titles = [t.title for s in tables.sections(found, figures=False) for t in s.tables]
    assert any(t.startswith("表 2 与风格") for t in titles)


def test_the_oracle_has_its_own_axis_in_the_nav_figure(evaluations):
    from zoo.evaluate import tables

    _, found = evaluations
    figure = tables.nav_figure(found, "top10pct")
    models, oracle = figure.figure.axes
    assert {line.get_label() for line in models.get_lines() if not line.get_label()
            .startswith("_")} == {"fake_good", "fake_noise"}
    assert [line.get_label() for line in oracle.get_lines()
            if not line.get_label().startswith("_")] == ["oracle"]
    assert "oracle" in figure.note
    # without the oracle, one axis
    assert len(tables.nav_figure(found[:2], "top10pct").figure.axes) == 1


def _texts(fig) -> list:
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text()]


def test_figures_are_labelled_in_chinese_with_a_font_that_draws_it(evaluations):
    import io

    from matplotlib import font_manager

    from zoo.evaluate import tables

    _, found = evaluations
    figures = [tables.nav_figure(found, "top10pct"), tables.ic_year_figure(found),
               tables.correlation_figure(found, "style", on_date=False)]
    for figure in figures:
        texts = _texts(figure.figure)
        chinese = [t for t in texts if re.search(r"[\u4e00-\u9fff]", t.get_text())]
        assert chinese, f"{figure.title}: no Chinese label"
        for text in chinese:
            path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
            assert "NotoSansCJK" in path, (text.get_text(), path)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph ... missing from font(s)" is a UserWarning
            figure.figure.savefig(io.BytesIO(), format="png")
        english = [t.get_text() for t in texts if re.search(
            r"\b(excess|Rank IC by year|correlation|before fees|rebalance)\b", t.get_text())]
        assert not english, english


def test_no_legend_covers_a_bar(evaluations):
    from zoo.evaluate import tables

    _, found = evaluations
    for figure in (tables.ic_year_figure(found),
                   tables.correlation_figure(found, "fundamental", on_date=True)):
        fig = figure.figure
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        [ax] = fig.axes
        legend = ax.get_legend().get_window_extent(renderer)
        bars = [p.get_window_extent(renderer) for p in ax.patches]
        assert bars and not any(legend.overlaps(bar) for bar in bars)


def test_zoo_eval_aligns_to_the_models_unless_told(eval_home, monkeypatch):
    import json

    monkeypatch.setenv("ZOO_HOME", str(eval_home))
    done = CliRunner().invoke(main, ["eval", "fake_good", "oracle", "--horizon", "5"])
    assert done.exit_code == 0, done.output
    assert "window 2020-" in done.output
    oracle = json.loads((eval_home / "reports" / "eval" / "oracle.json").read_text())
    assert oracle["first_date"].startswith("2020")
    done = CliRunner().invoke(main, ["eval", "fake_good", "oracle", "--horizon", "5",
                                     "--start", "2019-06-01"])
    assert done.exit_code == 0, done.output
    oracle = json.loads((eval_home / "reports" / "eval" / "oracle.json").read_text())
    assert oracle["first_date"].startswith("2019-06")
    fake = json.loads((eval_home / "reports" / "eval" / "fake_good.json").read_text())
    assert fake["first_date"].startswith("2020") and fake["last_date"] == oracle["last_date"]
