from .registry import create_model, list_models
from . import resnet  # noqa: F401  (registers the models)
