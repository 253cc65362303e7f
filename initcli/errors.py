"""The errors initcli raises, split by who has to act.

* :class:`InvalidArgument` -- the caller asked for something that cannot be
  done (an unknown name, a negative ``stddev``, a shape the initializer cannot
  take).  It subclasses :class:`ValueError` so Python callers can catch it the
  usual way; the command line reports it with exit code 2 (a usage error).
* :class:`ResourceError` -- the request is well formed but the machine or the
  file system refuses it (not enough memory, a missing directory, an existing
  file without ``--force``).  The command line reports it with exit code 1.

Every message is a single line that names the bad value and says what would
be accepted, because the command line prints it as is.
"""

from __future__ import annotations


class InitcliError(Exception):
    """Base class of every error initcli raises on purpose."""

    exit_code = 1


class InvalidArgument(InitcliError, ValueError):
    """A value the caller passed is not acceptable (exit code 2)."""

    exit_code = 2


class ResourceError(InitcliError, OSError):
    """The request is valid but cannot be carried out here (exit code 1)."""

    exit_code = 1
