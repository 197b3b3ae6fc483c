"""The forecast plot: a PNG drawn with matplotlib's Figure, without importing pyplot."""

import subprocess
import sys

_DRAW = """
import sys
import numpy as np
import pandas as pd
import arima_assets.definitions
assert "matplotlib" not in sys.modules, "loading the definitions imported matplotlib"
from arima_assets.plots import forecast_png
weeks = pd.date_range("2021-01-02", periods=120, freq="W-SAT")
history = pd.Series(np.linspace(100, 200, 120), index=weeks)
future = pd.date_range(weeks[-1] + pd.Timedelta(weeks=1), periods=13, freq="W-SAT")
forecast = pd.DataFrame({"mean": 200.0, "lo-80": 180.0, "hi-80": 220.0, "lo-95": 170.0, "hi-95": 230.0}, index=future)
png = forecast_png(history, forecast, "ISBN 9780722532935")
print(png[:8].hex(), len(png), "matplotlib.pyplot" in sys.modules)
"""


def test_forecast_png_is_drawn_without_pyplot_and_matplotlib_is_not_loaded_with_the_definitions() -> None:
    done = subprocess.run([sys.executable, "-c", _DRAW], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    signature, size, pyplot_loaded = done.stdout.split()
    assert signature == b"\x89PNG\r\n\x1a\n".hex() and int(size) > 5_000
    assert pyplot_loaded == "False"


def test_a_reused_plotter_draws_each_plot_as_a_fresh_figure_would() -> None:
    import numpy as np
    import pandas as pd

    from arima_assets.plots import ForecastPlotter, forecast_png

    rng = np.random.default_rng(5)
    plotter = ForecastPlotter()
    for weeks, level in ((200, 120.0), (30, 3.0), (400, 2500.0)):  # long, short and large after each other
        index = pd.date_range("2018-01-06", periods=weeks, freq="W-SAT")
        history = pd.Series(rng.poisson(level, weeks).astype(float), index=index)
        future = pd.date_range(index[-1] + pd.Timedelta(weeks=1), periods=13, freq="W-SAT")
        bands = {"lo-80": 0.8, "hi-80": 1.2, "lo-95": 0.7, "hi-95": 1.3}
        forecast = pd.DataFrame({"mean": level, **{k: level * v for k, v in bands.items()}}, index=future)
        assert plotter.png(history, forecast, f"{weeks} weeks") == forecast_png(history, forecast, f"{weeks} weeks")
