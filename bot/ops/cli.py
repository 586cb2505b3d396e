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
import textwrap
import traceback
from pathlib import Path

from bot.console.progress import quiet_library_bars
from bot.ops import tempdir
from core.settings import ConfigError, Settings, load_dotenv

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2
EXIT_PIPE = 141
"""stdout's reader went away (`tutor ... | head -1`): 128 + SIGPIPE, the status a shell gives `yes` or `cat` in
that pipe, so scripts (`set -o pipefail`, `[ $? -eq 141 ]`) treat the tutor as any Unix tool; not 1, a failed
command, since nothing failed: the reader had read enough."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


PACKS = ["hub", "offline", "tiny"]
ABOUT = {
    "ask": ('answer one command, e.g. tutor ask "/sentiment I love this"',
            "Answer one command and exit: the answer on stdout, its pictures saved under --out.",
            ['tutor ask "/sentiment I love this"', 'tutor ask "/tokenize Hello world" --pack offline',
             'tutor ask "/help"']),
    "chat": ("a prompt loop with history",
             "A prompt loop: type commands (/help lists them), /quit to leave; your lines are kept as history.",
             ["tutor chat --pack offline"]),
    "tour": ("a short guided tour of a few commands",
             "A short guided tour: a few commands run one after another, with what each shows.",
             ["tutor tour --pack offline"]),
    "discord": ("run the Discord bot (DISCORD_TOKEN), or print its invite link",
                "Run the Discord bot (DISCORD_TOKEN in the environment or .env) until stopped, or print the link that "
                "adds it to a server (`invite` and the Application ID from the developer portal; offline).",
                ["tutor discord --pack offline", "tutor discord invite 123456789012345678"]),
    "slack": ("run the Slack app (Socket Mode, or --http), or print its manifest",
              "Run the Slack app (Socket Mode, or the Events API over HTTP with --http), or print its manifest.",
              ["tutor slack --pack offline", "tutor slack --http --port 3000", "tutor slack manifest > manifest.yml"]),
    "run": ("run every chat platform whose tokens are set (what the Docker image runs)",
            "Run every chat platform whose tokens are set, with /healthz and /metrics when TUTOR_HEALTH_PORT is set "
            "(what the Docker image runs).", ["tutor run", "tutor run --pack offline --verbose"]),
    "doctor": ("check configuration, tokens and models; print a report (tokens never shown)",
               "Check the configuration, tokens (never shown), the database, the secret and each command's model, "
               "without starting anything; exit 1 when something will not work.",
               ["tutor doctor", "tutor doctor --pack offline"]),
    "rotate-secret": ("key the database with a new TUTOR_SECRET (deletes every learner's records)",
                      "Key the database with the TUTOR_SECRET configured now. This deletes every learner's records; "
                      "without --yes it only says what it would do.",
                      ["tutor rotate-secret", "tutor rotate-secret --yes"]),
    "models": ("list cached models, or pull a pack's models ahead of time",
               "List what is cached where and how big, or make a pack's models ready ahead of time (download, "
               "de-quantise or build).", ["tutor models list", "tutor models pull --pack offline"]),
    "bench": ("run the benchmark suite (a source checkout only)",
              "Run the benchmark suite (a source checkout only): ratios against same-run baselines. Every option "
              "after `bench` is the suite's.", ["tutor bench --quick", "tutor bench --only coldstart,ray --scale"]),
    "serve-models": ("deploy the pack's models to a Ray cluster (TUTOR_BACKEND=ray)",
                     "Deploy the pack's models to a Ray cluster, one Ray Serve application each (TUTOR_BACKEND=ray, "
                     "docs/scale.md), or write the Serve config file.",
                     ["tutor serve-models --pack offline --replicas 2", "tutor serve-models --config serve.yaml"]),
}
"""Each subcommand: its line in `tutor -h`, what it does and how it is typed (its own `-h`)."""
SHARED = "--pack, --out and --verbose may stand before or after the subcommand: tutor --pack offline discord is " \
         "tutor discord --pack offline."


def _shared(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every subcommand takes, on the top parser (with defaults) and on each subcommand (without:
    argparse.SUPPRESS leaves the top parser's value alone unless the option is given after the subcommand)."""
    default = (lambda value: value) if top else (lambda _value: argparse.SUPPRESS)
    parser.add_argument("--pack", choices=PACKS, default=default(None),
                        help="model pack (default: TUTOR_PACK, else hub)")
    parser.add_argument("--out", type=Path, default=default(Path("tutor-out")),
                        help="folder for the pictures of console answers (default: tutor-out)")
    parser.add_argument("--verbose", action="store_true", default=default(False),
                        help="log every request and model load, and a traceback with an error")


class _Version(argparse.Action):
    """`--version`, read from the package metadata only when asked (the lookup costs about 0.1 s of a start)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("transformers-tutor")
        except PackageNotFoundError:  # a source tree run with PYTHONPATH, never installed
            found = "unknown (not installed)"
        print(f"{parser.prog} {found}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor", description="Learn Hugging Face Transformers by asking a bot.",
                                     epilog=SHARED)
    _shared(parser, top=True)
    parser.add_argument("--version", action=_Version, nargs=0, help="print the installed version and exit")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    ask = _command(sub, "ask")
    ask.add_argument("line", nargs="+", help='one command as typed in chat, e.g. "/sentiment I love this"')
    _command(sub, "chat")
    _command(sub, "tour")
    discord = _command(sub, "discord")
    discord.add_argument("action", nargs="?", choices=["run", "invite"], default="run",
                         help="run the bot (default), or print the link that adds it to a server")
    discord.add_argument("application_id", nargs="?", metavar="APPLICATION_ID",
                         help="with `invite`: the developer portal's General Information > Application ID")
    slack = _command(sub, "slack")
    slack.add_argument("action", nargs="?", choices=["run", "manifest"], default="run",
                       help="run the app (default), or print the app manifest to paste at api.slack.com/apps")
    slack.add_argument("--http", action="store_true", help="serve the Events API over HTTP instead of Socket Mode")
    slack.add_argument("--port", type=int, help="HTTP mode's port (default: SLACK_PORT or 3000)")
    slack.add_argument("--host", help="HTTP mode's address (default: SLACK_HOST or 127.0.0.1; 0.0.0.0: every one)")
    slack.add_argument("--request-url", metavar="URL",
                       help="with `manifest`: the HTTPS address Slack calls in HTTP mode, e.g. "
                            "https://tutor.example.org/slack/events (Socket Mode off; every slash command, the "
                            "events and interactivity sent there)")
    _command(sub, "run")
    _command(sub, "doctor")
    rotate = _command(sub, "rotate-secret")
    rotate.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")
    models = _command(sub, "models")
    models.add_argument("action", choices=["list", "pull"], help="list the caches, or pull the pack's models")
    bench = _command(sub, "bench", shared=False)  # main() hands `bench ...` to the suite before parsing
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, help="the suite's options (tutor bench -h)")
    from bot.ops import serve_models  # TUTOR_BACKEND=ray: `tutor serve-models` (docs/scale.md)
    serve_models.add_parser(sub)
    _explain(sub.choices["serve-models"], "serve-models")
    return parser


def _command(sub: argparse._SubParsersAction, name: str, *, shared: bool = True) -> argparse.ArgumentParser:
    """A subcommand with its line in `tutor -h`, what it does and examples in its own `-h`, and the shared options."""
    command = sub.add_parser(name, help=ABOUT[name][0])
    _explain(command, name, shared=shared)
    return command


def _explain(command: argparse.ArgumentParser, name: str, *, shared: bool = True) -> None:
    _, about, examples = ABOUT[name]
    command.description = textwrap.fill(about, 100)
    command.epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + "\n\n" + textwrap.fill(SHARED, 100)
    command.formatter_class = argparse.RawDescriptionHelpFormatter
    if shared:
        _shared(command, top=False)


def _bench_argv(argv: list[str]) -> list[str] | None:
    """The suite's options when the subcommand is `bench`, exactly as typed (argparse would reorder them:
    `--only coldstart,ray --scale` reached the suite as `coldstart,ray --scale --only`), else None."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("--pack", "--out"):
            i += 2
        elif word.startswith(("--pack=", "--out=")) or word == "--verbose":
            i += 1
        else:
            return argv[i + 1:] if word == "bench" else None
    return None


def main(argv: list[str] | None = None) -> int:
    _safe_streams()
    argv = sys.argv[1:] if argv is None else list(argv)
    bench_argv = _bench_argv(argv)
    if bench_argv is not None:
        return _bench(bench_argv)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        args.env = _platform_env(load_dotenv(), args)  # read as docker compose reads it (core/settings.py)
        os.environ.update(args.env)  # as compose's env_file: HF_HOME, HF_HUB_OFFLINE, proxies... reach the libraries
        quiet_library_bars(sys.stderr)  # the Hub's and tqdm's bars on a terminal only (before they are imported)
        settings = Settings.from_env(args.env, pack=args.pack)
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USER
    temp = tempdir.find(settings.cache_dir)  # before torch, transformers or matplotlib is imported
    tempdir.use(temp)
    if temp.path is None and args.cmd != "doctor":  # the doctor reports it with the rest
        print(f"Configuration error: {temp.line(settings.cache_dir)}", file=sys.stderr)
        return EXIT_USER
    args.secrets = _secrets(settings, args.env)
    console = args.cmd in ("ask", "chat", "tour", "doctor", "models", "rotate-secret")
    _setup_logging(settings, args.secrets, verbose=args.verbose, console=console)
    if console:  # a server's progress records are log lines like any other
        _show_progress(verbose=args.verbose)
    if temp.fallback and temp.path is not None:
        logging.getLogger("tutor").info("%s", temp.line(settings.cache_dir))
    if args.cmd == "serve-models":  # TUTOR_BACKEND=ray's deployments: bot/ops/serve_models.py
        from bot.ops.serve_models import main as serve_models
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
    except BrokenPipeError:  # stdout's reader is gone: no "Error:" line, entry() stops quietly
        raise
    except Exception as exc:  # noqa: BLE001 - the last word: one line, the traceback only with --verbose
        return _failed(exc, settings, args)


def _failed(exc: Exception, settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.failures import describe

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
    from bot.ops.logs import set_library_levels  # libraries log raw message bodies at DEBUG: see bot/ops/logs.py
    set_library_levels(level, debug_libraries=settings.debug_libraries)
    if not verbose:
        _quiet_transformers()


def _quiet_transformers() -> None:
    """transformers' own logging at ERROR. Importing it costs seconds that an answer without a model (/help,
    `tutor doctor`, a refused option) need not pay, so until it is imported its own setting says so: it reads
    TRANSFORMERS_VERBOSITY when first imported."""
    transformers = sys.modules.get("transformers")
    if transformers is None:
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    else:
        transformers.logging.set_verbosity_error()


def _show_progress(*, verbose: bool) -> None:
    """The core's progress on stderr (first de-quantisation, tiny-pack build, downloads, bench parts): a bar
    on a terminal, a line per start and end elsewhere; never on stdout, where answers go."""
    from bot.console.progress import install

    quiet_library_bars(sys.stderr)
    install(sys.stderr, verbose=verbose)


def _engine(settings: Settings, *, one_shot: bool = False):
    from bot.ops.admin import check_cache_dir, check_secret
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
    from bot.console.app import ask
    from core.policy import Verdict

    if not _out_ok(args.out):
        return EXIT_USER
    engine = _engine(settings, one_shot=True)  # the collector stays paused: the process ends with the answer
    try:
        outcome = asyncio.run(ask(_console_policy(engine, one_shot=True), " ".join(args.line), args.out))
    finally:
        engine.close()
    return EXIT_OK if outcome.ok else (EXIT_INTERNAL if outcome.verdict is Verdict.APOLOGY else EXIT_USER)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console.app import chat

    if not _out_ok(args.out):
        return EXIT_USER
    engine = _engine(settings)
    try:
        return chat(_console_policy(engine), args.out)
    finally:
        engine.close()


def _tour(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console.app import tour

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
    from bot.console.app import out_dir_problem

    problem = out_dir_problem(out)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
    return problem is None


def _discord(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "invite":
        from bot.discord.invite import invite_text

        if args.application_id is None:
            raise ConfigError("`tutor discord invite` needs the Application ID (developer portal, General "
                              "Information), e.g. `tutor discord invite 123456789012345678`.")
        print(invite_text(args.application_id))
        return EXIT_OK
    if args.application_id is not None:
        raise ConfigError(f"unexpected {args.application_id!r}: an Application ID goes with `tutor discord invite`.")
    return _serve(settings, args, only="discord")


def _slack(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "manifest":
        from bot.slack.manifest import manifest_text, request_url_checked
        from core.commands import build_registry

        url = request_url_checked(args.request_url) if args.request_url is not None else None
        print(manifest_text(build_registry(), request_url=url))
        return EXIT_OK
    if args.request_url is not None:
        raise ConfigError("--request-url goes with `tutor slack manifest`; the running app is `tutor slack --http`, "
                          "with SLACK_SIGNING_SECRET.")
    return _serve(settings, args, only="slack")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return _serve(settings, args, only=None)


def _serve(settings: Settings, args: argparse.Namespace, *, only: str | None) -> int:
    """`tutor run` (every configured platform), `tutor discord` and `tutor slack` (one): one path."""
    from bot.ops.run import check_addresses, plan, run_all
    from core.policy import Policy

    check_addresses(settings, plan(args.env, only), args.env)  # nothing configured, a port taken: one line, first
    engine = _server_engine(settings)
    try:
        return run_all(Policy(engine), args.env, only)
    finally:
        engine.close()


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.admin import doctor

    report = doctor(settings, args.env)
    print("\n".join(report.lines))
    return EXIT_OK if not report.problems else EXIT_INTERNAL


def _rotate_secret(settings: Settings, args: argparse.Namespace) -> int:
    from bot.ops.admin import rotate_secret

    return rotate_secret(settings, yes=args.yes)


def _models(settings: Settings, args: argparse.Namespace) -> int:
    _started()  # a pull loads the pack's models one at a time: let the collector free each one
    from bot.ops.admin import list_models, run_pull

    if args.action == "list":
        print("\n".join(list_models(settings)))
        return EXIT_OK
    return run_pull(settings)


def _bench(argv: list[str]) -> int:
    _started()  # the benchmarks measure memory too: run them with the collector on, as a server would
    checkout = Path(__file__).resolve().parents[2]  # the source tree, with an editable install
    if (checkout / "bench" / "suite.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from bench.suite import main as bench_main
    except ImportError:
        print("`tutor bench` needs a source checkout with bench/suite.py (it is not installed with the package).",
              file=sys.stderr)
        return EXIT_USER
    if "-h" in argv or "--help" in argv:  # the suite's options, then what `bench` does and examples
        with contextlib.suppress(SystemExit):
            bench_main(["--help"])
        _, about, examples = ABOUT["bench"]
        print(f"\n{about}\nexamples:\n" + "\n".join(f"  {e}" for e in examples))
        return EXIT_OK
    _show_progress(verbose=False)  # each part's start and end on stderr; the table on stdout
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
    logs are flushed first, and every adapter has already closed its connections.

    Whatever prints (an answer, a report, a manifest, --version) may find stdout's reader gone
    (`| head -1`, a pager quit early, `grep -q`): then the command stops quietly, as Unix tools do,
    with EXIT_PIPE and not a word on stderr."""
    gc.disable()
    try:
        code = main()
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
    except BrokenPipeError:
        code = _reader_gone()
    except SystemExit:  # argparse's --help and usage errors end the process the interpreter's way
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise SystemExit(_reader_gone()) from None
        raise
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)


def _reader_gone() -> int:
    """stdout's reader closed the pipe. Python's recipe (the `signal` module docs, "Note on SIGPIPE"):
    point stdout at os.devnull, so that no later flush (the interpreter's at exit) fails again, and exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


if __name__ == "__main__":
    entry()
