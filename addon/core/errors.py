"""The add-on's errors: one base class, `AddonError`, and a subclass per kind of failure.

Every error the add-on raises on purpose is an `AddonError` whose message is one sentence for the
user (the operators report it in the panel, `batch.py` prints it after "error:"). So callers catch
`AddonError` alone; anything else is a bug and keeps its traceback. `details` holds text for the
console only (the engine's full stderr), never shown in the panel.

The subclasses say where a failure came from, for tests and for callers that want to tell them
apart; none of them adds behaviour. `AddonError` is a `RuntimeError`, as the classes it replaced
were, so code outside the add-on that caught RuntimeError still does.
"""

from __future__ import annotations


class AddonError(RuntimeError):
    """A one-sentence, user-facing failure of the add-on; `details` is for the console."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


class EngineClientError(AddonError):
    """The engine subprocess was not found, failed, timed out or was cancelled."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message, stderr)

    @property
    def stderr(self) -> str:
        """The engine's stderr (its traceback, logs), kept for the console."""
        return self.details


class ResultError(AddonError):
    """A result file is missing, unreadable or breaks the contract."""


class RetargetError(AddonError):
    """A mapping preset is invalid or does not fit the target armature."""


class SkeletonError(AddonError):
    """The skeleton description could not be found or parsed (a broken install)."""


class InputError(AddonError):
    """What the user chose cannot be used: no or a missing keypoint path, a missing rig file or
    armature, a target that is not an armature, an empty input folder, an unknown export format."""
