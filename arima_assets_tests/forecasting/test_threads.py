import pytest

from arima_assets.forecasting import limit_blas_threads


def test_limit_blas_threads_changes_the_loaded_openblas_libraries():
    changed = limit_blas_threads(1)
    assert all("openblas" in path.lower() for path in changed)


def test_limit_blas_threads_rejects_zero():
    with pytest.raises(ValueError, match="n must be a positive int"):
        limit_blas_threads(0)
