"""`tutor`: the command line. Each subcommand builds one engine and hands it to an adapter."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import re
import sys
import traceback
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
    rotate = sub.add_parser("rotate-secret", help="key the database with a new TUTOR_SECRET (deletes every "
                                                  "learner's records)")
    rotate.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")
    models = sub.add_parser("models", help="list cached models, or pull a pack's models ahead of time")
    models.add_argument("action", choices=["list", "pull"])
    models.add_argument("--pack", dest="sub_pack", choices=["hub", "offline", "tiny"], help="pack to pull")
    bench = sub.add_parser("bench", help="run the benchmark suite (a source checkout only)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    from bot import serve_models  # TUTOR_BACKEND=ray: `tutor serve-models` (docs/scale.md)
    serve_models.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _safe_streams()
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if args.cmd == "bench":  # its options belong to bench/suite.py (argparse leaves a leading `--quick` unknown)
        return _bench(args.bench_args + unknown)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.env = _platform_env(load_dotenv(), args)
    try:
        settings = Settings.from_env(args.env, pack=getattr(args, "sub_pack", None) or args.pack)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER
    args.secrets = _secrets(settings, args.env)
    _setup_logging(settings, args.secrets, verbose=args.verbose,
                   console=args.cmd in ("ask", "chat", "tour", "doctor", "models", "rotate-secret"))
    if args.cmd == "serve-models":  # TUTOR_BACKEND=ray's deployments: bot/serve_models.py
        from bot.serve_models import main as serve_models
        return serve_models(settings, args)
    handler = {"ask": _ask, "chat": _chat, "tour": _tour, "discord": _discord, "slack": _slack, "run": _run,
               "doctor": _doctor, "models": _models, "rotate-secret": _rotate_secret}[args.cmd]
    try:
        return handler(settings, args)
    except ConfigError as exc:  # an adapter found a missing or malformed token, a port or folder that cannot work
        print(redact(f"Configuration error: {exc}", args.secrets), file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last word: one line, the traceback only with --verbose
        return _failed(exc, settings, args)


def _failed(exc: Exception, settings: Settings, args: argparse.Namespace) -> int:
    from bot.failures import describe

    failure = describe(exc, command=args.cmd, cache_dir=settings.cache_dir,
                       out_dir=args.out if args.cmd in ("ask", "chat", "tour") else None)
    if args.verbose:
        print(redact(traceback.format_exc().rstrip(), args.secrets), file=sys.stderr)
    print(redact(failure.line, args.secrets), file=sys.stderr)
    return failure.code


def _safe_streams() -> None:
    """No text can crash the console on its way in or out. stdin: bytes that are not UTF-8 arrive as
    lone surrogates (what argv already does), and the core cleans them and says so (core/text.py).
    stdout and stderr: a character the terminal or pipe cannot encode (a lone surrogate, or an emoji
    with PYTHONIOENCODING=ascii) is written as a backslash escape instead of raising."""
    for stream, errors in ((sys.stdin, "surrogateescape"), (sys.stdout, "backslashreplace"),
                           (sys.stderr, "backslashreplace")):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
                reconfigure(errors=errors)


class RedactingFormatter(logging.Formatter):
    """Defence in depth: a configured token never reaches a log line, even inside a library's traceback."""

    def __init__(self, fmt: str, secrets: tuple[str, ...]) -> None:
        super().__init__(fmt)
        self.secrets = secrets
        self._pattern = secrets_pattern(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return self._pattern.sub(REDACTED, text) if self._pattern else text


REDACTED = "[redacted]"
SHORT_SECRET = 8
"""Real tokens are 32 to 80 characters. A secret shorter than this is redacted where it stands as a
whole token (not inside a longer run of letters and digits), so a 1-character secret still never
appears as itself (`token=x`, `Bearer x`) without turning every word with that letter into [redacted]."""


def secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every secret, longest first: long ones anywhere, short ones as whole tokens."""
    parts = [re.escape(s) if len(s) >= SHORT_SECRET else rf"(?<![^\W_]){re.escape(s)}(?![^\W_])"
             for s in sorted(secrets, key=len, reverse=True) if s]
    return re.compile("|".join(parts)) if parts else None


def redact(text: str, secrets: tuple[str, ...]) -> str:
    pattern = secrets_pattern(secrets)
    return pattern.sub(REDACTED, text) if pattern else text


def _platform_env(env: dict[str, str], args: argparse.Namespace) -> dict[str, str]:
    """The environment the adapters read, with `tutor slack`'s flags applied over it."""
    if args.cmd == "slack":
        flags = {"SLACK_MODE": "http" if args.http else None, "SLACK_PORT": args.port, "SLACK_HOST": args.host}
        env = {**env, **{k: str(v) for k, v in flags.items() if v is not None}}
    return env


def _secrets(settings: Settings, env: dict[str, str]) -> tuple[str, ...]:
    """Every secret a log line must never show: the core's and every platform adapter's."""
    from bot.adapter import all_secrets

    found = set(settings.secrets()) | set(all_secrets(env))
    return tuple(sorted(found, key=len, reverse=True))


def _setup_logging(settings: Settings, secrets: tuple[str, ...], *, verbose: bool, console: bool) -> None:
    level = logging.DEBUG if verbose else (logging.WARNING if console else settings.log_level.upper())
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(LOG_FORMAT, secrets))
    from bot.logs import set_library_levels  # libraries log raw message bodies at DEBUG: see bot/logs.py
    set_library_levels(level, debug_libraries=settings.debug_libraries)
    if not verbose:
        import transformers

        transformers.logging.set_verbosity_error()


def _engine(settings: Settings, *, one_shot: bool = False):
    from bot.ops import check_cache_dir, check_secret
    from core.engine import Engine

    check_cache_dir(settings)  # a cache that cannot work is one line now, not a failure in the first request
    if not one_shot:  # a secret that is not the database's is one line now; one that cannot be kept, a warning
        check_secret(settings)
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
    from core.policy import Kind

    if not _out_ok(args.out):
        return EXIT_USER
    engine = _engine(settings, one_shot=True)  # the collector stays paused: the process ends with the answer
    try:
        outcome = asyncio.run(ask(_console_policy(engine, one_shot=True), " ".join(args.line), args.out))
    finally:
        engine.close()
    return EXIT_OK if outcome.ok else (EXIT_INTERNAL if outcome.kind is Kind.APOLOGY else EXIT_USER)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import chat

    if not _out_ok(args.out):
        return EXIT_USER
    engine = _engine(settings)
    try:
        return chat(_console_policy(engine), args.out)
    finally:
        engine.close()


def _tour(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import tour

    if not _out_ok(args.out):
        return EXIT_USER
    engine = _engine(settings)
    try:
        ok = asyncio.run(tour(_console_policy(engine), args.out))
    finally:
        engine.close()
    return EXIT_OK if ok else EXIT_USER


def _console_policy(engine, *, one_shot: bool = False):
    """The console's policy: the same as every platform's, without a cooldown (one learner, their machine);
    a one-shot `tutor ask` keeps no run behind its answer (nothing could act on it)."""
    from core.policy import Policy

    return Policy(engine, cooldown_s=0, keep_runs=not one_shot)


def _out_ok(out: Path) -> bool:
    from bot.console import out_dir_problem

    problem = out_dir_problem(out)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
    return problem is None


def _discord(settings: Settings, args: argparse.Namespace) -> int:
    return _serve(settings, args, only="discord")


def _slack(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "manifest":
        from bot.slack_manifest import manifest_text
        from core.commands import build_registry

        print(manifest_text(build_registry()))
        return EXIT_OK
    return _serve(settings, args, only="slack")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return _serve(settings, args, only=None)


def _serve(settings: Settings, args: argparse.Namespace, *, only: str | None) -> int:
    """`tutor run` (every configured platform), `tutor discord` and `tutor slack` (one): one path."""
    from bot.run_all import check_addresses, plan, run_all
    from core.policy import Policy

    check_addresses(settings, plan(args.env, only), args.env)  # nothing configured, a port taken: one line, first
    engine = _server_engine(settings)
    try:
        return run_all(Policy(engine), args.env, only)
    finally:
        engine.close()


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import doctor

    report = doctor(settings, args.env)
    print("\n".join(report.lines))
    return EXIT_OK if not report.problems else EXIT_INTERNAL


def _rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops import rotate_secret

    return rotate_secret(settings, yes=args.yes)


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
