"""Gradient-boosted trees for the zoo: the second stage of `biagru_xgb` (XGBoost on the 32 deep
factors plus fundamental and style factors, "二次加权" in the report, giving the final score) and
the whole of `xgb_window`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.atomic import replace_file


@dataclass(frozen=True, kw_only=True)
class XGBoostConfig:
    """XGBoost settings of the second stage (`xgboost.train` parameters of the same names).

    `n_estimators` is the most boosting rounds; with a validation set, training stops after
    `early_stopping_rounds` rounds without improvement and prediction uses the best round.
    `device` is XGBoost's ("cpu" or "cuda"); the trainers set "cuda" when they train there.
    """

    n_estimators: int = 500
    learning_rate: float = 0.05
    max_depth: int = 6
    min_child_weight: float = 10.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 50
    n_jobs: int = 1
    seed: int = 0
    device: str = "cpu"


class XGBoostStage:
    """Gradient-boosted trees from stage features to the label, deterministic for a seed.

    Features may hold NaN (e.g. a stock's unknown latest quarter): XGBoost treats it as missing.
    Rows whose label is NaN are dropped.

    Args:
        config: the settings (default `XGBoostConfig()`).
        **overrides: fields of `XGBoostConfig` to replace; an unknown name is an error.

    Shapes:
        - features: [M, 32 + F + S] (factors, latest fundamentals, style)
        - label: [M]
        - predict(...): [M]
    """

    def __init__(self, config: XGBoostConfig | None = None, **overrides: Any) -> None:
        self.config = dataclasses.replace(config or XGBoostConfig(), **overrides)
        self.booster: Any = None
        self.best_iteration: int | None = None
        self.train_mse: float | None = None  # at the best round, after `fit`

    def _params(self) -> dict[str, Any]:
        c = self.config
        return {
            "objective": "reg:squarederror",
            "tree_method": "hist",
            "eta": c.learning_rate,
            "max_depth": c.max_depth,
            "min_child_weight": c.min_child_weight,
            "subsample": c.subsample,
            "colsample_bytree": c.colsample_bytree,
            "lambda": c.reg_lambda,
            "nthread": c.n_jobs,
            "seed": c.seed,
            "device": c.device,
            "eval_metric": "rmse",
        }

    def _matrix(self, features: np.ndarray, label: np.ndarray | None = None) -> Any:
        import xgboost as xgb

        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be [M, D], got shape {features.shape}")
        if label is None:
            return xgb.DMatrix(features, missing=np.nan, nthread=self.config.n_jobs)
        label = np.asarray(label, dtype=np.float32)
        if label.shape != (features.shape[0],):
            raise ValueError(f"label shape {label.shape} does not match {features.shape[0]} rows")
        keep = np.isfinite(label)
        return xgb.DMatrix(features[keep], label[keep], missing=np.nan,
                           nthread=self.config.n_jobs)

    def fit(self, features: np.ndarray, label: np.ndarray,
            valid: tuple[np.ndarray, np.ndarray] | None = None) -> XGBoostStage:
        """Train on `features` -> `label`; `valid=(features, label)` enables early stopping."""
        import xgboost as xgb

        train = self._matrix(features, label)
        evals = [(train, "train")]
        stopping = None
        if valid is not None:
            evals.append((self._matrix(*valid), "valid"))
            stopping = self.config.early_stopping_rounds
        history: dict[str, Any] = {}
        self.booster = xgb.train(self._params(), train, num_boost_round=self.config.n_estimators,
                                 evals=evals, early_stopping_rounds=stopping, verbose_eval=False,
                                 evals_result=history)
        self.best_iteration = (self.booster.best_iteration if valid is not None
                               else self.config.n_estimators - 1)
        self.train_mse = float(history["train"]["rmse"][self.best_iteration]) ** 2
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Scores of the fitted model, [M] float64 (the best round when early stopping ran)."""
        if self.booster is None:
            raise RuntimeError("XGBoostStage.predict before fit (or load)")
        rounds = (0, self.best_iteration + 1)
        return self.booster.predict(self._matrix(features), iteration_range=rounds).astype(
            np.float64)

    def save(self, path: str | Path) -> None:
        """Write the booster as XGBoost JSON, atomically (the config goes in the caller's
        checkpoint)."""
        if self.booster is None:
            raise RuntimeError("XGBoostStage.save before fit")
        self.booster.set_attr(best_iteration=str(self.best_iteration))
        # XGBoost picks the format by the suffix: the temporary name keeps ".json"
        with replace_file(path, suffix=".tmp.json") as partial:
            self.booster.save_model(str(partial))

    @classmethod
    def load(cls, path: str | Path, config: XGBoostConfig | None = None) -> XGBoostStage:
        import xgboost as xgb

        stage = cls(config)
        stage.booster = xgb.Booster(model_file=str(path))
        stage.best_iteration = int(stage.booster.attr("best_iteration"))
        return stage
