"""A synthetic A-share market in Wind's raw tables, with planted, documented predictability.

`generate(config, out_dir)` writes `<out_dir>/<Table>.parquet` for every table in
`wind.RAW_TABLES` and `<out_dir>/truth/<table>.parquet` for `wind.TRUTH_TABLES`. Columns, kinds
and units are exactly those of `zoo.ingest.wind` (dates 'YYYYMMDD' strings, floats float64, ints
int64). The same config gives the same values: every draw comes from one
`numpy.random.Generator(PCG64(seed))` in a fixed order (the latent links', under
`links=latent`, from one of their own, `zoo.synth.links`). The truth tables hold what a perfect
model would know (the expected returns and the fundamental neighbourhoods); `oracle_ic` ranks
them against the realised returns.

One module per step of the generation, each importing only earlier ones: `config`, `calendar`
(trading days, report periods), `universe` (the stocks), `arrow` (Wind tables as parquet),
`links` (how the market links neighbours), `statements` and `fundamentals` (the firms and their
reports), `periods` (ST, industry and index periods), then the day loop in `market` with its
steps in `prices`, `events`, `signal` (the planted predictability) and `indices`; `record` (the
config a market folder records, and the check that keeps one market from being written over
another), `writer` (`generate`) and `oracle`. Each module's docstring describes its mechanisms.
"""

from zoo.synth.calendar import trading_days
from zoo.synth.config import EFFECTS, SynthConfig, er_weight
from zoo.synth.fundamentals import PUBLISHED_FIGURES, published_ratios
from zoo.synth.oracle import oracle_ic
from zoo.synth.signal import SIG_COLUMNS
from zoo.synth.writer import SynthResult, generate

__all__ = ["EFFECTS", "PUBLISHED_FIGURES", "SIG_COLUMNS", "SynthConfig", "SynthResult",
           "er_weight", "generate", "oracle_ic", "published_ratios", "trading_days"]
