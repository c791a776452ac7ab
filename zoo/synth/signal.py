"""The planted predictability (truth.expected_return, truth.fundamental_neighbours).

The drift state S_i = sum of four parts, each an AR(1) with the same decay `rho`:

    S^k_it = rho S^k_{i,t-1} + x^k_it,      S_it = sum_k S^k_it

with impulses known at t's close (c_k = coefficient x `signal_strength` x the effect's knob,
`SynthConfig.effect_coefs`):
1. reversal:  x = -c_rev u_it (own idiosyncratic shock; 0 while suspended);
2. turnover:  x = -c_turn z_it, z = (log tau_it - EWMA_{0.9}(log tau)) / 0.4 clipped to +-4
   (0 while suspended and for the first 20 days after listing; `zoo.synth.prices`);
3. earnings:  x = +c_earn SUE on the first trading day after a statement's ANN_DT (the
   announcement is after the close, as in China; the same day the price jumps by
   `earnings_jump x SUE`; SUE as in `zoo.synth.fundamentals`);
4. neighbour: x = +c_nbr mean_{j in N_k(i)} u_jt (neighbours' idiosyncratic shocks, 0 for
   suspended neighbours). N_k(i) = the `neighbours_k` stocks the market links to i
   (`zoo.synth.links`, `SynthConfig.links`). Under `ratios` (the default), the nearest listed
   stocks by the six ratios that the statements publish (`published_ratios`), each
   standardised across the listed stocks, each stock placed by its latest report period
   announced so far: investors link firms by what they have published, not by the latent
   characteristics; a stock with no announced report has no neighbours and is nobody's. Under
   `latent`, the nearest listed stocks by link positions of which the statements show only a
   noisy part (their latent characteristics), some by hidden positions they do not show.
   Recomputed on the first trading day of every month, valid from that day.

At `signal_strength = 0` every S^k, SIG_* and ER_* is exactly 0. Expected log excess return
(excess of the zero-mean factor parts) from T+1 VWAP to T+1+h VWAP, with VWAP at half of its
day's log return:

    ER_hD = S_iT (0.5 + sum_{d=2..h} rho^(d-1) + 0.5 rho^h)      (`er_weight`)

Written for trading (not suspended) stock-days. Not in ER: the mechanical release of carry
after a limit or suspension, and the IPO pop; both are real, rare, and observable.
"""

from __future__ import annotations

import typing

import numpy as np

from zoo.synth.config import EFFECTS
from zoo.synth.links import nearest_neighbours
from zoo.vocabulary import HORIZONS

SIG_COLUMNS = ("SIG_REVERSAL", "SIG_TURNOVER", "SIG_EARNINGS", "SIG_NEIGHBOUR")


class _SignalSteps:
    """The planted-signal steps of the day loop; mixed into `zoo.synth.market._Simulation`,
    whose state they read and update."""

    def _init_signal(self) -> None:
        """Zero drift state, no neighbours yet, and the days the neighbours are recomputed."""
        n, cal = self.uni.n, self.cal
        self.coefs = self.cfg.effect_coefs()
        self.er_weights = self.cfg.er_weights()
        self.signal = np.zeros((len(EFFECTS), n))
        self.neighbours = np.full((n, self.cfg.neighbours_k), -1, dtype=np.int64)
        self.neighbour_rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.month_starts = {cal.first} | {
            d + 1 for d in cal.month_ends().tolist() if cal.first <= d + 1 < cal.stop}

    def _refresh_neighbours(self, t: int) -> None:
        """N_k among the stocks listed at day t's open: under links=ratios from the
        characteristics of each one's latest announced report period (what the statements
        published before the open describe), under links=latent from the latent positions."""
        if self.links is not None:
            listed = np.nonzero(self._active(t))[0]
        else:
            listed = np.nonzero(self._active(t) & (self.latest_quarter >= 0))[0]
        self.neighbours[:] = -1
        if len(listed) <= self.cfg.neighbours_k:
            return
        if self.links is not None:
            nbr = self.links.neighbours(listed, self.fund.latent[listed])
        else:
            x = self.fund.characteristics(listed, self.latest_quarter[listed])
            x = (x - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0)
            x = np.nan_to_num(np.clip(x, -5.0, 5.0))  # a ratio it cannot form: the average
            nbr = listed[nearest_neighbours(x, self.cfg.neighbours_k)]
        self.neighbours[listed] = nbr
        self.neighbour_rows.append((t, listed, nbr))

    def _update_signals(self, active: np.ndarray, trading: np.ndarray, u: np.ndarray,
                        z: np.ndarray, sue: np.ndarray) -> None:
        """S^k <- rho S^k + impulse^k (see the module docstring)."""
        seen = np.where(trading, u, 0.0)
        valid = self.neighbours >= 0
        nbr_mean = (seen[np.maximum(self.neighbours, 0)] * valid).sum(axis=1) / np.maximum(
            valid.sum(axis=1), 1)
        impulses = np.stack([-seen, -z, sue, nbr_mean]) * self.coefs[:, None]
        self.signal = np.where(active, self.cfg.rho * self.signal + impulses, 0.0)

    def _truth(self) -> dict[str, np.ndarray]:
        """Today's truth.expected_return values: ER_hD per horizon and the four SIG_* parts."""
        state = self.signal.sum(axis=0)
        truth = {f"ER_{h}D": w * state for h, w in zip(HORIZONS, self.er_weights, strict=True)}
        truth.update(dict(zip(SIG_COLUMNS, self.signal, strict=True)))
        return truth

    def _neighbour_table(self) -> dict[str, typing.Any]:
        rows = self.neighbour_rows
        k = rows[0][2].shape[1] if rows else 0
        stock = np.concatenate([np.repeat(listed, k) for _, listed, _ in rows])
        return {"S_INFO_WINDCODE": self.uni.codes[stock],
                "NEIGHBOUR_WINDCODE": self.uni.codes[np.concatenate([nbr.ravel()
                                                                     for *_, nbr in rows])],
                "VALID_FROM": np.concatenate([np.full(len(listed) * k, self.cal.labels[t])
                                              for t, listed, _ in rows]),
                "RANK": np.tile(np.arange(1, k + 1), len(stock) // max(k, 1))}
