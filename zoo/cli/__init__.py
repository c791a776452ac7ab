"""`zoo`: the command line of alphazoo.

Heavy libraries (polars, duckdb, torch, feast, ...) are imported inside the commands that need
them, so `zoo --help` answers at once.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """alphazoo: point-in-time A-share features and a model zoo.

    Everything is written under $ZOO_HOME (default ./data).
    """


from zoo.cli.backtest import backtest_command  # noqa: E402  (click only; heavy imports inside)
from zoo.cli.bench import bench  # noqa: E402
from zoo.cli.daily import daily_command  # noqa: E402
from zoo.cli.data import data  # noqa: E402
from zoo.cli.evaluate import eval_command, report_command  # noqa: E402
from zoo.cli.features import features  # noqa: E402
from zoo.cli.models import list_cmd, score_cmd, train_cmd  # noqa: E402

for command in (data, features, list_cmd, train_cmd, score_cmd, eval_command, report_command,
                backtest_command, daily_command, bench):
    main.add_command(command)


if __name__ == "__main__":
    main()
