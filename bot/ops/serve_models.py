"""`tutor serve-models`: put the current pack's models on a Ray cluster (TUTOR_BACKEND=ray), one Ray
Serve application per model, or write the equivalent Serve config file for `serve deploy`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.settings import ConfigError, Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve-models", help="deploy the pack's models to a Ray cluster (TUTOR_BACKEND=ray)")
    serve.add_argument("--only", help="comma-separated models to deploy (default: every model of the pack)")
    serve.add_argument("--replicas", type=int, default=1, help="replicas per model (default 1)")
    serve.add_argument("--cpus", type=float, default=1.0, help="CPUs each replica reserves (default 1; 0 on a laptop)")
    serve.add_argument("--config", type=Path, help="write a Serve config file here instead of deploying")


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return run(settings, args)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 2


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        import ray  # noqa: F401 - only to say clearly that the extra is missing
    except ImportError:
        print("tutor serve-models needs Ray: pip install 'transformers-tutor[ray]'.", file=sys.stderr)
        return 2
    from core.backends import ray_serve

    if args.replicas < 1 or args.cpus < 0:
        raise ConfigError("--replicas must be at least 1 and --cpus at least 0.")
    only = [m.strip().lstrip("/").lower() for m in (args.only or "").split(",") if m.strip()]
    models = ray_serve.chosen_models(settings, only)
    if args.config is not None:
        import yaml

        config = ray_serve.serve_config(settings, models, args.replicas, args.cpus)
        args.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        print(f"wrote {args.config}: {len(models)} applications ({', '.join(models)}); "
              f"deploy it with `serve deploy {args.config}` (RAY_ADDRESS names the cluster)")
        return 0
    ray_serve.connect(settings)
    apps = ray_serve.deploy(settings, models, args.replicas, args.cpus)
    print(f"deployed on the {settings.pack} pack: {', '.join(apps)}; start the bots with TUTOR_BACKEND=ray")
    return 0
