"""The optimisation model: one module per constraint family, assembled by ``build_model``."""

from optimodel.model.build import build_model

__all__ = ["build_model"]
