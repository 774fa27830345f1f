"""Process hygiene while keys are in memory: no core dumps, and helper processes that
inherit nothing secret.

An open vault's keys and the plaintext it serves live in this process's memory. A core dump
would copy them to disk (often into a system-wide crash collector), and a debugger attached
by another process of the same user could read them. `harden` turns both off where the
platform allows: the core size limit is set to zero (soft and hard, so it cannot be raised
again) and, on Linux, the process is made non-dumpable, which also refuses `ptrace` and
`/proc/PID/mem` to other processes of the user. Where a call is unavailable it is skipped
silently: the vault works the same.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Final

_PR_SET_DUMPABLE: Final = 4  # <linux/prctl.h>

# What a Python helper process needs to start and read files: where programs and the
# interpreter's modules are, the locale for file names, a home and a temporary directory
# (SYSTEMROOT: Python on Windows cannot start without it). Nothing else, so no secret of the
# parent's environment (COFFRE_PASSPHRASE, tokens of other programs) reaches it.
_HELPER_VARIABLES: Final = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
)


def harden() -> None:
    """Disable core dumps for this process and, on Linux, make it non-dumpable."""
    try:
        import resource
    except ImportError:  # not on this platform
        pass
    else:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def helper_environment(pythonpath: str) -> dict[str, str]:
    """The whole environment of a Python helper process: the few variables it needs from
    ours, and PYTHONPATH so it imports this copy of Coffre."""
    env = {name: os.environ[name] for name in _HELPER_VARIABLES if name in os.environ}
    env["PYTHONPATH"] = pythonpath
    return env
