"""The model registry, like timm's: `@register_model(contract=...)` on a factory, then
`create_model(name, **overrides)`, `list_models(pattern)` and `model_contract(name)`.

The registry imports no model and no torch: model files import it, and `zoo/models/__init__.py`
imports every model file, so the zoo is filled on `import zoo.models`. The name a user types
(`zoo train biagru_gat`) is the factory's function name.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from torch import nn


def check_model_name(model: str) -> str:
    """`model` if it can name a model: an ASCII identifier (a factory's name). Only such a name
    reaches a path (runs/<model>/) or SQL (scores.score_<model>).

    Raises:
        ValueError: it cannot; the message quotes it.
    """
    if not (isinstance(model, str) and model.isascii() and model.isidentifier()):
        raise ValueError(f"{model!r} is not a model name (identifier characters only: "
                         f"letters, digits and _, not starting with a digit)")
    return model

__all__ = [
    "BATCH_INPUTS",
    "check_model_name",
    "FEATURE_SERVICES",
    "DataContract",
    "create_model",
    "list_models",
    "model_contract",
    "model_options",
    "register_model",
]

# The keys a day's batch may carry besides the label: what a contract's `inputs` may name.
BATCH_INPUTS: tuple[str, ...] = (
    "price_volume",  # float [N, sequence_days, 6]
    "price_mask",  # bool [N]: the stock has a full price window
    "fundamentals",  # float [N, quarters, 19], standardised, NaN -> 0
    "fund_mask",  # bool [N, quarters]: quarter known
    "style",  # float [N, S]
    "edge_index",  # long [2, E], fundamental-similarity graph of the day
    "industry",  # long [N]: CITIC level-1 industry of the day (0, 1, ...), -1 unknown
)
# The Feast feature services a model may ask for (declared in feature_repo/services.py).
FEATURE_SERVICES: tuple[str, ...] = ("price_volume_v1", "fundamentals_v1", "style_v1")


@dataclass(frozen=True, kw_only=True)
class DataContract:
    """What a model reads: batch inputs, Feast feature services, label and dataset shape.

    Args:
        inputs: batch keys the model's `forward` reads (a subset of `BATCH_INPUTS`).
        label: label column the model is trained on (a view in the `labels` schema).
        sequence_days: length of the daily price-volume window.
        quarters: number of quarters of fundamentals.
        needs_graph: the dataset must build the day's fundamental-similarity graph.
        feature_services: Feast feature services the dataset retrieves.
        two_stage: the torch model is followed by a second (XGBoost) stage.
        tree_only: the model is gradient-boosted trees on its `stage_features(batch)`, with
            no torch stage to train (`xgb_window`; trained by `TreeTrainer`).
    """

    inputs: tuple[str, ...]
    label: str = "fwd_excess_vwap_5d"
    sequence_days: int = 40
    quarters: int = 12
    needs_graph: bool = False
    feature_services: tuple[str, ...]
    two_stage: bool = False
    tree_only: bool = False

    def __post_init__(self) -> None:
        unknown = [key for key in self.inputs if key not in BATCH_INPUTS]
        if unknown:
            raise ValueError(f"unknown batch inputs {unknown}; known: {list(BATCH_INPUTS)}")
        unknown = [name for name in self.feature_services if name not in FEATURE_SERVICES]
        if unknown:
            raise ValueError(f"unknown feature services {unknown}; known: {list(FEATURE_SERVICES)}")
        if self.needs_graph != ("edge_index" in self.inputs):
            raise ValueError("needs_graph must be True exactly when 'edge_index' is an input")
        if self.two_stage and self.tree_only:
            raise ValueError("a model is two_stage (torch, then trees) or tree_only, not both")
        if self.sequence_days < 1 or self.quarters < 1:
            raise ValueError("sequence_days and quarters must be positive")


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., nn.Module]
    contract: DataContract
    module: str


_MODELS: dict[str, _Entry] = {}

F = TypeVar("F", bound=Callable[..., Any])


def register_model(*, contract: DataContract) -> Callable[[F], F]:
    """Register a model factory under its function name, with its data contract.

    The returned factory is the same function, except that the module it builds carries
    `contract` (the `DataContract`), `model_name` and `model_config` (every keyword argument,
    defaults filled in, so a checkpoint can store what produced it).

    Example:
        @register_model(contract=DataContract(inputs=("price_volume", "price_mask"),
                                              feature_services=("price_volume_v1",)))
        def biagru(*, hidden_channels: int = 64) -> BiAGRU:
            return BiAGRU(...)
    """
    if not isinstance(contract, DataContract):
        raise TypeError("register_model needs contract=DataContract(...)")

    def decorate(fn: F) -> F:
        name = fn.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} is registered twice "
                             f"({_MODELS[name].module} and {fn.__module__})")
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def factory(**kwargs: Any) -> nn.Module:
            bound = signature.bind(**kwargs)
            bound.apply_defaults()
            model = fn(**bound.arguments)
            model.contract = contract
            model.model_name = name
            model.model_config = dict(bound.arguments)
            return model

        factory.contract = contract  # type: ignore[attr-defined]
        _MODELS[name] = _Entry(factory, contract, fn.__module__)
        return factory  # type: ignore[return-value]

    return decorate


def _entry(name: str) -> _Entry:
    if name in _MODELS:
        return _MODELS[name]
    if not _MODELS:
        raise ValueError(f"unknown model {name!r}: no model is registered (import zoo.models)")
    close = difflib.get_close_matches(name, _MODELS, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else "no close match"
    raise ValueError(f"unknown model {name!r}: {hint} Known models: {', '.join(sorted(_MODELS))}")


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model; `None` overrides are dropped (the factory default stands).

    Raises:
        ValueError: `name` is not registered (the message names close matches), or an override
            is not an argument of the factory.
    """
    entry = _entry(name)
    kwargs = {key: value for key, value in overrides.items() if value is not None}
    params = inspect.signature(entry.factory).parameters
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, params, n=1, cutoff=0.6)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"model {name!r} has no option {', '.join(hints)}; "
                         f"options: {', '.join(params)}")
    return entry.factory(**kwargs)


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching the fnmatch `pattern`, sorted."""
    return sorted(fnmatch.filter(_MODELS, pattern))


def model_contract(name: str) -> DataContract:
    """The data contract declared next to a model's factory (without building the model)."""
    return _entry(name).contract


def model_options(name: str) -> tuple[str, ...]:
    """The options of a model (its factory's keyword arguments), without building it."""
    return tuple(inspect.signature(_entry(name).factory).parameters)
