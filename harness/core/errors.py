"""One hierarchy for every error the harness reports.

    HarnessError                 anything the user should read as one line
    ├── UsageError               bad input: the CLI exits with status 2
    ├── ToolchainError           no Go toolchain, or the Go build failed
    └── PairingError             one server or client failed; the run goes on
        ├── ServerError          exited at start, never ready, died mid-run
        └── ClientError          crashed, hung past its timeout, bad output

Messages say what went wrong and what to do; only ``cli`` turns them into exit
codes, so library code never calls ``sys.exit``.
"""

from __future__ import annotations


class HarnessError(Exception):
    """An error with a message meant for the user, shown as one line."""


class UsageError(HarnessError):
    """The command line asked for something that cannot be run."""


class ToolchainError(HarnessError):
    """Go is missing or its build failed."""


class PairingError(HarnessError):
    """A server or a client failed; the pairings it touches are reported failed."""


class ServerError(PairingError):
    """A server exited, never became ready, or died during a batch."""


class ClientError(PairingError):
    """A client crashed, hung past its timeout, or printed malformed output."""
