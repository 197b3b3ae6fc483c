"""Command line: `arima-assets run ...` runs the pipeline and prints the summary; `arima-assets config` shows the
settings, where each comes from, and the stores; `arima-assets init` creates a deployment's stores once, before its
workers start; `arima-assets webserver` starts Dagster's webserver after checking that its port is free."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import socket
import sys
import warnings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arima-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="ingest, retrain stale models, forecast; print the retraining report")
    run.add_argument("--output-dir", help="folder for the Dagster instance, models and MLflow store")
    run.add_argument("--isbn", action="append", dest="isbns", help="an ISBN to model (repeatable; default: all)")
    run.add_argument("--env", dest="environment", help="development | testing | production (default DEPLOYMENT_ENV)")
    run.add_argument("--sales-path", help="sales file or folder (default: the shipped synthetic sample)")
    run.add_argument("--n-trials", type=int, help="Optuna trials per model")
    run.add_argument("--force-retrain", action="store_true", default=None, help="retrain every selected model")
    run.add_argument("--json", action="store_true", help="print the whole report as JSON")
    show = sub.add_parser("config", help="print the effective configuration")
    show.add_argument("--env", dest="environment")
    init = sub.add_parser(
        "init",
        help="create this deployment's stores once (Dagster instance under DAGSTER_HOME, MLflow store and "
        "experiment, state folders) before starting the webserver, the daemon and the workers",
    )
    init.add_argument("--env", dest="environment")
    web = sub.add_parser(
        "webserver",
        help="start dagster-webserver on HOST:PORT, or exit 2 saying the port is taken (Dagster's own webserver logs "
        "'Serving' before it fails to bind)",
        add_help=False,  # -h is the host, as for dagster-webserver
    )
    web.add_argument("--help", action="help", help="show this help and exit")
    web.add_argument("-h", "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("-p", "--port", type=int, default=3000, help="port to listen on (default 3000)")
    web.add_argument("-w", "--workspace", default="workspace.yaml", help="workspace file (default workspace.yaml)")
    web.add_argument("extra", nargs=argparse.REMAINDER, help="further dagster-webserver options, after --")
    return parser


def _port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (taken, or not an address of this machine), or None when it can.

    Binds as uvicorn does (SO_REUSEADDR), so a port in TIME_WAIT after a stopped webserver counts as free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is taken by another process (a `dagster dev` or another webserver?)"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def _webserver(args: argparse.Namespace) -> int:
    """Replace this process by dagster-webserver (a supervisor then watches the webserver itself), unless the port
    is taken: then say so and return 2."""
    if not 0 < args.port < 65536:
        print(f"arima-assets: error: --port {args.port} is not a port number (1-65535)", file=sys.stderr)
        return 2
    taken = _port_taken(args.host, args.port)
    if taken:
        print(f"arima-assets: error: {taken}; stop it or choose another with -p", file=sys.stderr)
        return 2
    program = shutil.which("dagster-webserver")
    if program is None:
        print("arima-assets: error: dagster-webserver is not on PATH (install the project)", file=sys.stderr)
        return 2
    extra = [arg for arg in args.extra if arg != "--"]
    command = [program, "-w", args.workspace, "-h", args.host, "-p", str(args.port), *extra]
    sys.stdout.flush()
    os.execv(program, command)
    return 0  # not reached: execv replaces the process


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's setup, shown as one line (exit code 2) rather than a traceback: bad settings or
    files, an unusable MLflow store (the path and why), a DAGSTER_HOME that is not a folder."""
    from dagster import DagsterInvariantViolationError

    from arima_assets.registry.errors import RegistryError

    return (ValueError, RegistryError, DagsterInvariantViolationError)


def _show_config(environment: str | None) -> int:
    """Print the effective stores and settings as JSON (exit 0). In production an unset variable is shown as
    ``<unset: NAME>`` and listed under ``missing`` (and on stderr, one ``missing:`` line) instead of failing; so is
    a trigger calendar file that does not exist."""
    from pathlib import Path

    from arima_assets.config import ENV_VARS, get_arima_config
    from arima_assets.defs.deployment import is_scaled_out, missing_production_settings, setting_origins, unset
    from arima_assets.defs.resources import store_locations
    from arima_assets.environment import get_environment

    environment = get_environment(environment)
    missing = missing_production_settings() if is_scaled_out(environment) else []
    no_tracking_uri = any(item.startswith("MLFLOW_TRACKING_URI:") for item in missing)
    placeholder = unset("MLFLOW_TRACKING_URI") if no_tracking_uri else None
    config = get_arima_config(environment, mlflow_tracking_uri=placeholder)
    calendar = config.trigger_calendar.strip()
    if calendar and not Path(calendar).exists():
        variable = ENV_VARS["trigger_calendar"]
        missing.append(f"{variable}: {calendar} does not exist yet (the release calendar cannot fire until it does)")
    shown = {
        "stores": store_locations(config),
        "settings": config.public_dict(),
        "origins": setting_origins(environment),
    }
    if missing:
        shown["missing"] = missing
    print(json.dumps(shown, indent=2))
    if missing:
        names = ", ".join(item.split(":")[0] for item in missing)
        print(f'arima-assets: missing: {names} (shown as <unset: NAME>; see "missing" above)', file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `arima-assets` console script."""
    args = _parser().parse_args(argv)
    from arima_assets.config import get_arima_config

    try:
        if args.command == "config":
            with warnings.catch_warnings():
                from arima_assets.pipeline import ignore_dagster_warnings

                ignore_dagster_warnings()  # dagster-mlflow's beta notice at import is not for the user
                return _show_config(args.environment)
        if args.command == "webserver":
            return _webserver(args)
        if args.command == "init":
            with warnings.catch_warnings():
                from arima_assets.pipeline import ignore_dagster_warnings

                ignore_dagster_warnings()
                from arima_assets.defs.deployment import prepare_stores

                print(json.dumps(prepare_stores(get_arima_config(args.environment)), indent=2))
            return 0
        # Dagster's beta/preview notices (at the import of the definitions and dagster-mlflow, and during the
        # runs) are not for the user of the command: hidden in this block only, its filters restored on exit.
        with warnings.catch_warnings():
            from arima_assets.pipeline import book_sales_arima_modeling_pipeline, ignore_dagster_warnings

            ignore_dagster_warnings()  # before the definitions are imported (in the pipeline call)
            config = get_arima_config(
                args.environment,
                sales_path=args.sales_path,
                n_trials=args.n_trials,
                force_retrain=args.force_retrain,
            )
            report = book_sales_arima_modeling_pipeline(args.output_dir, args.isbns, config)
    except _user_errors() as exc:  # evaluated only when something was raised: no import cost otherwise
        print(f"arima-assets: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        keys = [
            "total_books",
            "successful_models",
            "reused_models",
            "newly_trained_models",
            "failed_models",
            "reuse_rate",
        ]
        for key in keys:
            print(f"{key:>22}: {report[key]}")
        stats = report["retraining_stats"]
        print(f"{'triggers':>22}: {stats['triggers']}")
        print(f"{'fit seconds spent':>22}: {stats['fit_seconds_spent']}")
        print(f"{'fit seconds saved':>22}: {stats['fit_seconds_saved']}")
        for isbn, decision in report["decisions"].items():
            detail = decision["error"] or "; ".join(decision["reasons"])
            print(f"  {isbn}  {decision['status']:<8} {detail}")
    return 1 if report["failed_models"] else 0


if __name__ == "__main__":
    sys.exit(main())
