"""One error type per layer, each carrying a one-sentence message meant for the user.

The CLI catches `EngineError` at the boundary, prints its message on stderr and exits non-zero;
anything else is a bug and keeps its traceback.
"""


class EngineError(Exception):
    """A failure the user can act on (bad input, bad checkpoint, bad flag)."""


class ReaderError(EngineError):
    """A keypoint file could not be read or converted; the message names the file."""


class CheckpointError(EngineError):
    """A checkpoint is missing, truncated, of the wrong kind or of an unsupported version."""


class SequenceError(EngineError):
    """A keypoint sequence breaks the canonical contract (shape, NaN, no confidence, ...)."""


class InputError(EngineError):
    """A value from a file or a flag is outside what the engine accepts (engine.limits)."""
