"""How the synthetic market links firms into the neighbourhoods whose shocks they share
(`SynthConfig.links`; the neighbour effect itself is in `zoo.synth.signal`).

- `ratios` (the default): each firm's `neighbours_k` nearest listed firms by the six ratios its
  statements publish (`zoo.synth.fundamentals.published_ratios`), standardised across the
  listed firms, as of each firm's latest announced report. The project's graph
  (`zoo.datasets.graph`) profiles firms by the same six ratios with the same standardisation,
  so it finds these links almost by construction.
- `latent`: real neighbourhoods (supply chains, shared customers, common owners) show in
  fundamentals only partly. Each firm has a link position

      p_i = sqrt(v) z(c_i) + sqrt(1 - v) xi_i,      v = `latent_visibility`

  where c_i are its six latent characteristics as they stand (`zoo.synth.fundamentals`: the
  true state the statements report with a lag and with noise), z standardises each across the
  listed firms (clipped at +-5), and xi_i ~ N(0, I_6) is a part of what links it that nothing
  it publishes reflects, fixed for its life; and a hidden position q_i ~ N(0, I_6), fixed too.
  Of its k links a share `hidden_link_share` (in expectation: each firm rounds k x share up or
  down by a draw) are its nearest listed firms by q, the rest its nearest by p. At v = 1 and
  no hidden links the market links firms by what their statements will show, and a graph of
  the published ratios finds most links, missing those that moved since the last report; as v
  falls it finds fewer, and the q-links only by chance.

Both are recomputed on the first trading day of every month among the listed firms (under
`ratios` those with an announced report; under `latent` every listed firm: its links exist
before anyone can see them). The latent draws (xi, q, the rounding) come from their own
generator, seeded by (seed, `LINK_STREAM`), so the market's one generator makes the same draws
in the same order under either mechanism: a `ratios` market is the market it was before
`latent` existed, and a `latent` market has the same firms, statements and random shocks, seed
for seed; only the links differ, and the prices through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.synth.config import SynthConfig

LINK_STREAM = 1  # the latent links' generator: PCG64([seed, LINK_STREAM])
CHARACTERISTICS = 6  # the firm characteristics of zoo.synth.fundamentals
POSITION_CLIP = 5.0  # standardised characteristics clipped as the ratios are


def nearest_neighbours(x: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """Indices [m, k] of the k nearest other rows of x (Euclidean), ties by index."""
    m = len(x)
    k = min(k, m - 1)
    sq = (x**2).sum(axis=1)
    out = np.empty((m, k), dtype=np.int64)
    for lo in range(0, m, block):
        rows = np.arange(lo, min(lo + block, m))
        d2 = sq[rows, None] + sq[None, :] - 2.0 * x[rows] @ x.T
        d2[np.arange(len(rows)), rows] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.take_along_axis(d2, part, axis=1)
        order = np.lexsort((part, dist), axis=1)
        out[rows] = np.take_along_axis(part, order, axis=1)
    return out


def standardised(x: np.ndarray) -> np.ndarray:
    """Columns of x [m, c] by their mean and standard deviation across the rows, clipped."""
    std = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return np.clip(z, -POSITION_CLIP, POSITION_CLIP)


@dataclass(frozen=True)


class LatentLinks:
    """What links firms under `links=latent`, beyond their characteristics.

    Attributes:
        unseen: xi [n, 6], the part of each link position that the statements do not show.
        hidden: q [n, 6], the hidden positions.
        hidden_count: [n] links drawn by q, each floor or ceil of k x hidden_link_share.
        visibility: v.
        k: links per stock (`neighbours_k`).
    """

    unseen: np.ndarray
    hidden: np.ndarray
    hidden_count: np.ndarray
    visibility: float
    k: int

    @classmethod
    def draw(cls, cfg: SynthConfig, n: int) -> LatentLinks:
        """The draws for `n` stocks, from the links' own generator (see the docstring)."""
        rng = np.random.Generator(np.random.PCG64([cfg.seed, LINK_STREAM]))
        unseen = rng.normal(0.0, 1.0, (n, CHARACTERISTICS))
        hidden = rng.normal(0.0, 1.0, (n, CHARACTERISTICS))
        share = cfg.hidden_link_share * cfg.neighbours_k
        extra = rng.random(n) < share - np.floor(share)
        hidden_count = np.minimum(np.floor(share) + extra, cfg.neighbours_k).astype(np.int64)
        return cls(unseen, hidden, hidden_count, cfg.latent_visibility, cfg.neighbours_k)

    def positions(self, listed: np.ndarray, characteristics: np.ndarray) -> np.ndarray:
        """p [m, 6] of the `listed` stocks [m] from their latent characteristics [m, 6]."""
        v = self.visibility
        return np.sqrt(v) * standardised(characteristics) + np.sqrt(1 - v) * self.unseen[listed]

    def neighbours(self, listed: np.ndarray, characteristics: np.ndarray) -> np.ndarray:
        """Links [m, k] of the `listed` stocks [m] (m > k) among themselves, global indices,
        from their latent characteristics [m, 6]: first the nearest by p, then the hidden
        ones, the nearest by q not already linked; each group nearest first."""
        k = self.k
        near = listed[nearest_neighbours(self.positions(listed, characteristics), k)]
        by_q = listed[nearest_neighbours(self.hidden[listed], k)]
        visible = k - self.hidden_count[listed]  # [m]
        slots = np.arange(k)
        already = ((by_q[:, :, None] == near[:, None, :])
                   & (slots[None, None, :] < visible[:, None, None])).any(axis=2)
        # k candidates by q leave at least k - visible new ones; a stable sort keeps their order
        fresh = np.take_along_axis(by_q, np.argsort(already, axis=1, kind="stable"), axis=1)
        after = np.clip(slots[None, :] - visible[:, None], 0, k - 1)
        return np.where(slots[None, :] < visible[:, None], near,
                        np.take_along_axis(fresh, after, axis=1))
