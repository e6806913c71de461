"""initlint: lint PyTorch models for weight-initialization mistakes."""

__version__ = "0.1.0"

from .api import check_model, check_paths, check_source  # noqa: E402
from .config import ConfigError  # noqa: E402
from .findings import Finding  # noqa: E402
from .options import Options, Overrides, configured  # noqa: E402
from .report.model import LayerRow, ModelEntry, Report  # noqa: E402

__all__ = [
    "__version__", "check_model", "check_paths", "check_source", "configured", "ConfigError", "Finding",
    "LayerRow", "ModelEntry", "Options", "Overrides", "Report",
]  # fmt: skip
