"""A failure that ends a `tutor` command, said in one line: what failed and what to check.

The CLI prints this line instead of a traceback (`--verbose` adds the traceback). It names the
faults of the environment a self-hoster meets at start: a chat platform that cannot be reached,
a port that is taken or an address that is not this machine's, a folder that cannot be written.
Anything else is an internal error, still one line, with the hint that `--verbose` shows more.
"""
from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

EXIT_FAILED, EXIT_CONFIG = 1, 2

@dataclass(frozen=True)
class Failure:
    line: str
    code: int


class StartFailure(Exception):
    """An adapter that could not start for a reason outside the tutor, already said in one line."""

    def __init__(self, line: str, code: int = EXIT_FAILED) -> None:
        super().__init__(line)
        self.code = code


def _network_types() -> tuple[type[BaseException], ...]:
    """Client-side connection errors of aiohttp (both SDKs use it) and discord.py, imported lazily."""
    errors: list[type[BaseException]] = [TimeoutError, ConnectionError]
    if "aiohttp" in sys.modules:
        import aiohttp

        errors.append(aiohttp.ClientConnectionError)
    if "discord" in sys.modules:
        import discord

        errors.append(discord.GatewayNotFound)
    return tuple(errors)


def unreachable(name: str, needs: str, exc: BaseException) -> str | None:
    """One line when `exc` says a platform's servers cannot be reached (`name` needs `needs`, an
    adapter's `network`); None for anything else."""
    if not isinstance(exc, _network_types()):
        return None
    return f"Cannot reach {name}: {_reason(exc)}. Check this machine's network connection, DNS and any proxy " \
           f"or firewall ({name} needs {needs}); the tutor stopped instead of retrying."


def _reason(exc: BaseException) -> str:
    host = getattr(exc, "host", None)
    cause = getattr(exc, "os_error", None) or exc.__cause__ or exc
    what = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    if isinstance(cause, socket.gaierror):
        what = f"the host name does not resolve (DNS: {what})"
    elif isinstance(exc, TimeoutError):
        what = "the connection timed out"
    return f"{host}:{getattr(exc, 'port', '')}: {what}" if host else what


def cannot_listen(exc: OSError, what: str) -> str | None:
    """One line for a server socket that cannot be opened (`what`: the settings that choose it)."""
    if isinstance(exc, socket.gaierror):
        return f"Cannot listen: the host name in {what} does not resolve ({exc.strerror}); use an IP address " \
               "such as 127.0.0.1 or 0.0.0.0."
    reasons = {
        errno.EADDRINUSE: "the port is already in use; stop what uses it or choose another port",
        errno.EADDRNOTAVAIL: "that address is not one of this machine's; use 127.0.0.1, 0.0.0.0 or a local address",
        errno.EACCES: "permission denied (ports below 1024 need privileges); choose a port above 1024",
    }
    reason = reasons.get(exc.errno or 0)
    return f"Cannot listen on {what}: {reason} ({exc.strerror or exc})." if reason else None


def check_listen(host: str, port: int, what: str) -> None:
    """Bind `host:port` and let go at once (as aiohttp will bind it, with SO_REUSEADDR), so a port in
    use or a foreign address is one ConfigError before any model loads. Port 0 binds any free port."""
    from core.settings import ConfigError

    try:
        family, socktype, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, socktype, proto) as probe:
            if os.name == "posix":
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(cannot_listen(exc, what) or f"Cannot listen on {what}: {exc}.") from None


def describe(exc: BaseException, *, command: str, cache_dir: Path, out_dir: Path | None) -> Failure:
    """The one line (and exit code) for an exception that ended `tutor <command>`."""
    if isinstance(exc, StartFailure):
        return Failure(str(exc), exc.code)
    if isinstance(exc, OSError):
        listening = cannot_listen(exc, "the configured port")
        if listening:
            return Failure(listening, EXIT_CONFIG)
        where = _folder_of(exc, cache_dir, out_dir)
        if where:
            return Failure(f"{where} cannot be used: {exc.strerror or exc} ({exc.filename}). Choose a folder this "
                           "user can write to.", EXIT_CONFIG)
        return Failure(f"Error: {exc}", EXIT_FAILED)
    return Failure(f"Internal error: {type(exc).__name__}: {exc}. Run again with --verbose to see the traceback.",
                   EXIT_FAILED)


def _folder_of(exc: OSError, cache_dir: Path, out_dir: Path | None) -> str | None:
    """Which configured folder an OSError is about, by its file name."""
    if not exc.filename:
        return None
    path = Path(str(exc.filename)).absolute()
    for label, folder in (("TUTOR_CACHE_DIR", cache_dir), ("--out", out_dir)):
        if folder is not None and path.is_relative_to(Path(folder).absolute()):
            return f"{label} ({folder})"
    return None
