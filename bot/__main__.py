"""`python -m bot`: the `tutor` command, for a checkout or an environment without the console script."""
from bot.cli import entry

entry()
