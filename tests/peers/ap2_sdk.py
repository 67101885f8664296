"""Loads the AP2 v0.2 Python SDK (`ap2.sdk`) for tests/peers/ap2_verify.py and
tests/peers/ap2_make.py, without letting it write anywhere.

The SDK is found on PYTHONPATH (tests/interop_ap2.rs sets it from `AGENTID_AP2_SDK`,
the directory holding the `ap2` package). It is used unmodified; two of its module
globals are set from here, in this process only:

- `ap2.sdk.mandate.LOG_FILE_PATH`: every `MandateClient` call appends a JSON line to
  `<sdk>/../.logs/mandate_operations.log`, inside the SDK's own tree (read-only for
  us; as root it would be written anyway). It is pointed at os.devnull.
- `ap2.sdk.sdjwt.kb_sd_jwt.time`: a hop's `iat` is `int(time.time())` with no way to
  pass it in. ap2_make.py replaces that module reference with a fixed clock so the
  corpus has the same `iat` (and so the same verdicts at its fixed `now`) on every
  run. ap2_verify.py does not touch it.
"""

import os
import sys
import types

# The scripts set this before importing this module; here for any other importer.
sys.dont_write_bytecode = True


class SdkUnavailable(Exception):
    """The SDK, or one of its dependencies, does not import."""


def load():
    """Imports the SDK modules the harness uses and silences its log file."""
    try:
        import ap2.sdk.mandate as mandate
        from ap2.sdk.sdjwt import kb_sd_jwt  # noqa: F401 - checked importable
    except Exception as error:  # noqa: BLE001 - any import failure means "no SDK"
        raise SdkUnavailable(f"{type(error).__name__}: {error}") from error
    mandate.LOG_FILE_PATH = os.devnull
    return mandate


class FixedClock:
    """Stands in for the `time` module inside `ap2.sdk.sdjwt.kb_sd_jwt`."""

    def __init__(self, now):
        self.now = now

    def time(self):
        return float(self.now)


def fix_hop_clock(now):
    """Makes every hop the SDK signs from now on carry `iat` = `now` (settable
    later through the returned clock's `now`)."""
    from ap2.sdk.sdjwt import kb_sd_jwt

    clock = FixedClock(now)
    kb_sd_jwt.time = types.SimpleNamespace(time=clock.time)
    return clock
