"""How much the libraries under the tutor may log, apart from its own loggers.

At DEBUG, slack_sdk and slack_bolt log whole request and response bodies (a learner's text, raw
user and channel ids), discord.py whole gateway payloads, aiohttp and urllib3 every URL. The
tutor's own lines name a learner by their keyed id (`core.tutor.keys.LogNames`), and `--verbose` or
`TUTOR_LOG_LEVEL=DEBUG` must not undo that through a library: the loggers below stay at INFO (or
the level asked for, when that is higher) unless `TUTOR_DEBUG_LIBRARIES=true` asks for their
debug output too, for instance to debug a connection to Slack or Discord.

transformers is not in the list: the CLI sets its own verbosity (errors only unless `--verbose`).
"""
from __future__ import annotations

import logging

LIBRARY_LOGGERS = (
    "slack_sdk", "slack_bolt", "discord", "aiohttp", "websockets", "websocket", "urllib3", "httpx", "httpcore",
    "huggingface_hub", "filelock", "asyncio", "matplotlib", "PIL", "fsspec",
)


def set_library_levels(level: int | str, *, debug_libraries: bool = False) -> None:
    """Cap the libraries' loggers at INFO, or at `level` when that is higher; `debug_libraries` lifts the cap.

    A level on each library logger, not a handler filter: records below it are never even built,
    and the root logger's handlers (and their redaction) stay as they are.
    """
    asked = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    floor = logging.NOTSET if debug_libraries else max(logging.INFO, int(asked))
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(floor)
