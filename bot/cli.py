"""`tutor`: the command line. Each subcommand builds one engine and hands it to an adapter."""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from pathlib import Path

from core.settings import ConfigError, Settings, load_dotenv

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor", description="Learn Hugging Face Transformers by asking a bot.")
    parser.add_argument("--pack", choices=["hub", "offline", "tiny"], help="model pack (default: TUTOR_PACK or hub)")
    parser.add_argument("--out", type=Path, default=Path("tutor-out"), help="folder for images (console)")
    parser.add_argument("--verbose", action="store_true", help="log every request and model load")
    sub = parser.add_subparsers(dest="cmd", required=True)
    ask = sub.add_parser("ask", help='answer one command, e.g. tutor ask "/sentiment I love this"')
    ask.add_argument("line", nargs="+")
    sub.add_parser("chat", help="a prompt loop with history")
    sub.add_parser("tour", help="a short guided tour of a few commands")
    sub.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN)")
    slack = sub.add_parser("slack", help="run the Slack app (Socket Mode, or --http)")
    slack.add_argument("action", nargs="?", choices=["run", "manifest"], default="run")
    slack.add_argument("--http", action="store_true", help="serve the Events API over HTTP instead of Socket Mode")
    slack.add_argument("--port", type=int, help="HTTP mode's port (default: SLACK_PORT or 3000)")
    slack.add_argument("--host", help="HTTP mode's address (default: SLACK_HOST or 127.0.0.1; 0.0.0.0: every one)")
    sub.add_parser("run", help="run every chat platform whose tokens are set (what the Docker image runs)")
    sub.add_parser("doctor", help="check configuration, tokens and models; print a report (tokens never shown)")
    models = sub.add_parser("models", help="list cached models, or pull a pack's models ahead of time")
    models.add_argument("action", choices=["list", "pull"])
    models.add_argument("--pack", dest="sub_pack", choices=["hub", "offline", "tiny"], help="pack to pull")
    bench = sub.add_parser("bench", help="run the benchmark suite (a source checkout only)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    from bot import serve_models  # TUTOR_BACKEND=ray: `tutor serve-models` (docs/scale.md)
    serve_models.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.cmd == "bench":  # its options belong to bench/suite.py (argparse leaves a leading `--quick` unknown)
        return _bench(args.bench_args + unknown)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        settings = Settings.from_env(load_dotenv(), pack=getattr(args, "sub_pack", None) or args.pack)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER
    _setup_logging(settings, verbose=args.verbose, console=args.cmd in ("ask", "chat", "tour", "doctor", "models"))
    if args.cmd == "serve-models":  # TUTOR_BACKEND=ray's deployments: bot/serve_models.py
        from bot.serve_models import main as serve_models
        return serve_models(settings, args)
    handler = {"ask": _ask, "chat": _chat, "tour": _tour, "discord": _discord, "slack": _slack, "run": _run,
               "doctor": _doctor, "models": _models}[args.cmd]
    try:
        return handler(settings, args)
    except ConfigError as exc:  # an adapter found a missing or malformed token
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER


class RedactingFormatter(logging.Formatter):
    """Defence in depth: a configured token never reaches a log line, even inside a library's traceback."""

    def __init__(self, fmt: str, secrets: tuple[str, ...]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


def _setup_logging(settings: Settings, *, verbose: bool, console: bool) -> None:
    level = logging.DEBUG if verbose else (logging.WARNING if console else settings.log_level.upper())
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(LOG_FORMAT, settings.secrets()))
    from bot.logs import set_library_levels  # libraries log raw message bodies at DEBUG: see bot/logs.py
    set_library_levels(level, debug_libraries=settings.debug_libraries)
    if not verbose:
        import transformers

        transformers.logging.set_verbosity_error()


def _engine(settings: Settings, *, one_shot: bool = False):
    from core.engine import Engine

    engine = Engine(settings)
    if not one_shot:
        _started()
    return engine


def _started() -> None:
    """Start-up is over: collect its garbage once, keep what is left (torch, transformers, the
    registry) out of later collections, and turn the cyclic collector that `entry` paused back on."""
    gc.collect()
    gc.freeze()
    gc.enable()


def _server_engine(settings: Settings):
    """An engine for a long-running adapter: TUTOR_WARMUP's models start loading at once."""
    engine = _engine(settings)
    warming = engine.warm_up()
    if warming:
        logging.getLogger("tutor").info("warming up the models of: %s", ", ".join(warming))
    return engine


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import ask

    engine = _engine(settings, one_shot=True)  # the collector stays paused: the process ends with the answer
    try:
        outcome = asyncio.run(ask(engine, " ".join(args.line), args.out))
    finally:
        engine.close()
    return EXIT_OK if outcome.ok else (EXIT_USER if outcome.user_error else EXIT_INTERNAL)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import chat

    engine = _engine(settings)
    try:
        chat(engine, args.out)
    finally:
        engine.close()
    return EXIT_OK


def _tour(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import tour

    engine = _engine(settings)
    try:
        ok = asyncio.run(tour(engine, args.out))
    finally:
        engine.close()
    return EXIT_OK if ok else EXIT_USER


def _discord(settings: Settings, args: argparse.Namespace) -> int:
    from bot.discord_app import run_discord

    if not settings.discord_token:
        print("Set DISCORD_TOKEN (in the environment or .env) to run the Discord bot; see docs/discord.md.",
              file=sys.stderr)
        return EXIT_USER
    engine = _server_engine(settings)
    try:
        return run_discord(engine, settings) or EXIT_OK
    finally:
        engine.close()


def _slack(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "manifest":
        from bot.slack_manifest import manifest_text
        from core.commands import build_registry

        print(manifest_text(build_registry()))
        return EXIT_OK
    from bot.slack_app import run_slack

    engine = _server_engine(settings)
    try:
        return run_slack(engine, settings, http=args.http, port=args.port, host=args.host) or EXIT_OK
    finally:
        engine.close()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run_all import plan, run_all

    plan(settings)  # no platform configured: one message, before loading anything
    engine = _server_engine(settings)
    try:
        return run_all(engine, settings)
    finally:
        engine.close()


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import doctor

    report = doctor(settings)
    print("\n".join(report.lines))
    return EXIT_OK if not report.problems else EXIT_INTERNAL


def _models(settings: Settings, args: argparse.Namespace) -> int:
    _started()  # a pull loads the pack's models one at a time: let the collector free each one
    from bot.ops import list_models, run_pull

    if args.action == "list":
        print("\n".join(list_models(settings)))
        return EXIT_OK
    return run_pull(settings)


def _bench(argv: list[str]) -> int:
    _started()  # the benchmarks measure memory too: run them with the collector on, as a server would
    checkout = Path(__file__).resolve().parent.parent  # the source tree, with an editable install
    if (checkout / "bench" / "suite.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from bench.suite import main as bench_main
    except ImportError:
        print("`tutor bench` needs a source checkout with bench/suite.py (it is not installed with the package).",
              file=sys.stderr)
        return EXIT_USER
    return bench_main(argv) or EXIT_OK


def entry() -> None:
    """The `tutor` command.

    Start-up runs with the cyclic garbage collector paused. Importing torch and transformers creates
    about 600,000 long-lived objects, and collecting them again and again took about 1 s of a 4.5 s
    start (`tutor bench`, cold start). Long-running commands turn it back on once their engine exists,
    and `models` and `bench` at once (`_started`); the one-shot `ask` and `doctor` leave it off until
    they exit (de-quantising collects after itself).

    After the answer, exit without the interpreter's teardown of torch and
    transformers, which takes about 1.5 s and does nothing a finished command needs: output and
    logs are flushed first, and every adapter has already closed its connections."""
    gc.disable()
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
