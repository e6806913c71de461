"""initlint: lint PyTorch models for weight-initialization mistakes."""

__version__ = "0.1.0"

from .api import check_model, check_paths, check_source  # noqa: E402

__all__ = ["__version__", "check_model", "check_paths", "check_source"]
