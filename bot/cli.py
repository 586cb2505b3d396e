"""`tutor`: the command line. Each subcommand builds one engine and hands it to an adapter."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from core.settings import ConfigError, Settings, load_dotenv

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


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
    slack.add_argument("--port", type=int, default=3000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(load_dotenv(), pack=args.pack)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER
    _setup_logging(settings, verbose=args.verbose, console=args.cmd in ("ask", "chat", "tour"))
    handler = {"ask": _ask, "chat": _chat, "tour": _tour, "discord": _discord, "slack": _slack}[args.cmd]
    try:
        return handler(settings, args)
    except ConfigError as exc:  # an adapter found a missing or malformed token
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER


def _setup_logging(settings: Settings, *, verbose: bool, console: bool) -> None:
    level = logging.DEBUG if verbose else (logging.WARNING if console else settings.log_level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not verbose:
        import transformers

        transformers.logging.set_verbosity_error()


def _engine(settings: Settings):
    from core.engine import Engine

    return Engine(settings)


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import ask

    engine = _engine(settings)
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
    engine = _engine(settings)
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

    engine = _engine(settings)
    try:
        return run_slack(engine, settings, http=args.http, port=args.port) or EXIT_OK
    finally:
        engine.close()


if __name__ == "__main__":
    sys.exit(main())
