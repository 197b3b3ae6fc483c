"""The project configuration a benchmark runs under: a named preset, with storage pointed at benchmarks/out.

The benchmarks never track to MLflow or write the model store; the storage fields are set only so that
building the configuration does not require a production MLflow server.
"""

from __future__ import annotations

from pathlib import Path

from arima_assets.config import PRESETS, ArimaConfig, get_arima_config
from arima_assets.forecasting import TuningSettings
from arima_assets.training import tuning_settings

__all__ = ["OUT_DIR", "preset_config", "preset_settings"]

OUT_DIR = Path(__file__).resolve().parent / "out"


def preset_config(preset: str) -> ArimaConfig:
    """`get_arima_config(preset)` with state and MLflow under benchmarks/out (never used for tracking).

    Raises:
        ValueError: `preset` is not one of the project's presets.
    """
    if preset not in PRESETS:
        raise ValueError(f"--preset {preset!r} is not a preset; allowed: {', '.join(PRESETS)}")
    state = OUT_DIR / "state"
    return get_arima_config(preset, state_dir=str(state), mlflow_tracking_uri=f"sqlite:///{state / 'mlflow-unused.db'}")


def preset_settings(preset: str) -> TuningSettings:
    """The core's tuning settings of a preset (what the model asset tunes with)."""
    return tuning_settings(preset_config(preset))
