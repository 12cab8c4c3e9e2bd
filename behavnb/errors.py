"""One exception family for behavnb.

The ground floor (with ``utils``): every room raises these; it imports nothing of behavnb.

Every message names the file or object at fault, what was wrong, and what to do about it.
Subclasses also inherit from the matching built-in (``FileNotFoundError``, ``ValueError``) so
generic handlers keep working.
"""

from __future__ import annotations


class BehavnbError(Exception):
    """Base class of every error raised by behavnb."""


class PoseFileNotFoundError(BehavnbError, FileNotFoundError):
    """A pose, label or metadata file does not exist."""


class UnknownFormatError(BehavnbError, ValueError):
    """The file's extension or content matches no supported tracker format."""


class PoseFormatError(BehavnbError, ValueError):
    """A file of a known format is malformed: truncated, garbled, wrong header, non-numeric values."""


class EmptyFileError(PoseFormatError):
    """The file exists but holds no data."""


class MissingFpsError(BehavnbError, ValueError):
    """The frame rate is stated nowhere: not passed, not in the file, manifest or metadata."""


class SessionsTableError(BehavnbError, ValueError):
    """A sessions table is missing columns, has duplicate ids or points at missing files."""


class InconsistentKeypointsError(SessionsTableError):
    """Sessions of one dataset track different keypoint sets."""


class DatasetNotFoundError(BehavnbError, LookupError):
    """A dataset name is not registered, or its files are neither cached nor downloadable."""


class ChecksumError(BehavnbError, ValueError):
    """A data file's sha256 differs from the one registered in the manifest."""


class ParameterError(BehavnbError, ValueError):
    """A function or notebook parameter has an invalid value."""


class KeypointNotFoundError(ParameterError):
    """A keypoint named in a parameter is not in the data."""


class SessionTooShortError(ParameterError):
    """A session has fewer frames than a window (smoothing, model) needs."""


class DataWarning(UserWarning):
    """A recoverable data problem (an empty keypoint, a session failing QC); the message gives counts."""
