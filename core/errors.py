"""The one exception type for problems the learner can fix.

Anything raised as `UserError` is shown to the learner as-is; every other exception is
an internal failure: logged with context and answered with a short apology.
"""


class UserError(Exception):
    """A problem with the learner's input or setup, with a message meant for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Busy(UserError):
    """The tutor is at its queue limit: not the learner's fault, but something they can wait out."""
