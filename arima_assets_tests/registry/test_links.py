"""Links into the MLflow UI shown in the Dagster metadata."""

from arima_assets.registry.links import model_version_url, run_url, ui_base_url


def test_the_ui_of_a_tracking_server_is_the_server_without_its_credentials() -> None:
    base = ui_base_url("https://ops:s3cret@mlflow.example.com:8443/")
    assert base == "https://mlflow.example.com:8443"
    assert model_version_url(base, "arima-9780722532935", 3) == (
        "https://mlflow.example.com:8443/#/models/arima-9780722532935/versions/3"
    )


def test_a_sqlite_store_links_to_mlflow_ui_unless_a_ui_url_is_set() -> None:
    assert ui_base_url("sqlite:///state/mlflow.db") == "http://127.0.0.1:5000"
    assert ui_base_url("sqlite:///state/mlflow.db", "http://mlflow.internal/prefix/") == "http://mlflow.internal/prefix"
    assert run_url("http://127.0.0.1:5000", "a b") == "http://127.0.0.1:5000/#/runs/a%20b"
