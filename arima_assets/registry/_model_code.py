"""MLflow "models from code" entry point, copied into every logged model: sets the pyfunc model to serve."""

import mlflow

from arima_assets.registry.pyfunc import ArimaForecastModel

mlflow.models.set_model(ArimaForecastModel())
