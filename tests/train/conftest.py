"""Training tests run on tiny synthetic cross-sections, on one CPU thread.

One thread because a day's batch is small: intra-op threads only add synchronisation, and on a
shared machine they make every step many times slower.
"""

import datetime

import pytest
import torch

from zoo.datasets.protocol import FakeDayBatches


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_fake(**overrides) -> FakeDayBatches:
    """A small fake: 24 stocks, 8-day windows, 4 quarters of 5 fields, 3 style factors."""
    settings = dict(start=datetime.date(2017, 1, 1), end=datetime.date(2017, 6, 30),
                    n_stocks=24, sequence_days=8, quarters=4, fund_features=5,
                    style_features=3, seed=3)
    return FakeDayBatches(**{**settings, **overrides})


@pytest.fixture(scope="session")
def fake() -> FakeDayBatches:
    return tiny_fake()
