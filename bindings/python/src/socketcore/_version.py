"""The package's version, which is the Rust crate's (Cargo.toml): the installed distribution's
metadata, or, when running from a source checkout without installing, Cargo.toml itself."""
from __future__ import annotations

import os
import re
from typing import Optional


def _from_checkout() -> Optional[str]:
    cargo = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "Cargo.toml")
    try:
        with open(cargo, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    version = package and re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    return version.group(1) if version else None


def _version() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from importlib import metadata

        dist = metadata.distribution("socketcore")
        # Only the metadata of this very copy: a package imported from a checkout must not
        # report the version of another copy installed in the environment.
        if any(os.path.abspath(str(dist.locate_file(f))) == os.path.join(here, "_version.py")
               for f in dist.files or ()):
            return dist.version
    except Exception:  # no metadata (not installed): fall back to the checkout
        pass
    return _from_checkout() or "0+unknown"


__version__ = _version()
_major = re.match(r"(\d+)\.", __version__)
#: The library major version this package works with (the package's own); None if unknown.
MAJOR: Optional[int] = int(_major.group(1)) if _major else None
