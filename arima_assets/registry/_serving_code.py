"""The code logged with every registered model: a minimal ``arima_assets`` package that loads and forecasts.

A registered version must load and predict anywhere from its own files and ``requirements.txt`` alone (MLflow,
pandas, NumPy, SciPy, statsmodels): outside this repository, without Optuna or Dagster. So the model is logged
with ``code_paths`` holding a copy of the serving path only (about 70 KB):

- ``arima_assets/registry/pyfunc.py`` (the pyfunc class, input checks, signature),
- the forecasting modules defining what ``pyfunc.py`` imports from ``arima_assets.forecasting`` (and
  ``ArimaModel``, ``FitError``, ``ModelSpec``), ``threads.py``, and the forecasting modules those import (found
  by reading their imports: ``model.py``, ``spec.py``, ``fourier.py``, ``_series.py`` today), never the tuner,
- generated ``__init__.py`` files: ``arima_assets.forecasting`` exports those names and applies
  ``ARIMA_BLAS_THREADS``; the others are empty (the real ones import the Dagster layer, the registry client and
  the tuner).

MLflow puts the model's ``code/`` folder first on ``sys.path`` when it loads the model, so a process that has not
imported ``arima_assets`` yet (a scoring server) runs the logged copy; one that has (this project's own processes)
keeps the installed package, whose serving modules are the same files.
"""

from __future__ import annotations

import ast
import functools
import importlib
import shutil
from pathlib import Path

__all__ = ["SERVING_DISTRIBUTIONS", "serving_forecasting_modules", "write_serving_package"]

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_FORECASTING = "arima_assets.forecasting"
_PYFUNC = _PACKAGE_ROOT / "registry" / "pyfunc.py"
_EXPORTED = ("ArimaModel", "FitError", "ModelSpec")
"""Names the serving ``arima_assets.forecasting`` always exports, beside those ``pyfunc.py`` imports from it."""
SERVING_DISTRIBUTIONS = ("mlflow", "pandas", "numpy", "scipy", "statsmodels")
"""The distributions the logged code imports: the model's ``requirements.txt`` pins exactly these."""

_PACKAGE_INIT = '"""{name}: the serving copy logged with a registered model (arima_assets.registry._serving_code)."""\n'


def _package_names_imported_by(path: Path) -> set[str]:
    """The names the module at `path` imports from the ``arima_assets.forecasting`` package itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == _FORECASTING
        for alias in node.names
    }


def _serving_exports() -> dict[str, str]:
    """Each name the serving ``arima_assets.forecasting`` exports -> the module (file stem) that defines it."""
    package = importlib.import_module(_FORECASTING)
    names = sorted(set(_EXPORTED) | _package_names_imported_by(_PYFUNC))
    return {name: getattr(package, name).__module__.rsplit(".", 1)[1] for name in names}


def _forecasting_init(exports: dict[str, str]) -> str:
    lines = [f"from {_FORECASTING}.{module} import {name}" for name, module in exports.items()]
    return (
        _PACKAGE_INIT.format(name=_FORECASTING)
        + "\n"
        + "\n".join([*lines, f"from {_FORECASTING}.threads import limit_blas_threads_from_env"])
        + f"\n\n__all__ = {sorted(exports)!r}\n\nlimit_blas_threads_from_env()\n"
    )


def _forecasting_imports(path: Path) -> set[str]:
    """Names of the ``arima_assets.forecasting`` modules that the module at `path` imports (any nesting)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{_FORECASTING}."):
            names.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[2] for a in node.names if a.name.startswith(f"{_FORECASTING}."))
    return names


@functools.cache
def serving_forecasting_modules() -> tuple[str, ...]:
    """File names of the forecasting modules the served model needs: the entry modules and their imports.

    Parsed once per process (a code change means a new process): every registered model of a batch ships the same
    files, and parsing them took about 70 ms per trained ISBN.

    Raises:
        FileNotFoundError: A needed module is missing from the installed package (a broken install).
    """
    folder, needed, todo = _PACKAGE_ROOT / "forecasting", set(), ["threads", *_serving_exports().values()]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        path = folder / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: cannot log the code of a registered model")
        needed.add(name)
        todo.extend(_forecasting_imports(path))
    return tuple(sorted(f"{name}.py" for name in needed))


def write_serving_package(folder: Path) -> Path:
    """Write the serving copy of ``arima_assets`` under `folder` and return its package folder (for ``code_paths``).

    Raises:
        FileNotFoundError: A serving module is missing from the installed package (a broken install).
    """
    package = Path(folder) / "arima_assets"
    (package / "registry").mkdir(parents=True)
    (package / "forecasting").mkdir()
    (package / "__init__.py").write_text(_PACKAGE_INIT.format(name="arima_assets"), encoding="utf-8")
    (package / "registry" / "__init__.py").write_text(
        _PACKAGE_INIT.format(name="arima_assets.registry"), encoding="utf-8"
    )
    (package / "forecasting" / "__init__.py").write_text(_forecasting_init(_serving_exports()), encoding="utf-8")
    shutil.copyfile(_PACKAGE_ROOT / "registry" / "pyfunc.py", package / "registry" / "pyfunc.py")
    for name in serving_forecasting_modules():
        shutil.copyfile(_PACKAGE_ROOT / "forecasting" / name, package / "forecasting" / name)
    return package
