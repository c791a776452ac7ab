"""The model zoo: importing this package registers every model (see `zoo.registry`)."""

from zoo.models import biagru, fundamental, peers  # noqa: F401  (registers the models)
from zoo.registry import create_model, list_models, model_contract

__all__ = ["create_model", "list_models", "model_contract"]
