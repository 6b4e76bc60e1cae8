"""Build of the socketcore wheel: the ctypes package plus libsocketcore built from the Rust
sources of this checkout (../../Cargo.toml) by setuptools-rust as a plain cdylib
(Binding.NoBinding), shipped inside the package as ``socketcore/_libsocketcore.abi3.so``.

Everything the build writes goes to a temporary directory, never into the source tree: the
setuptools build directory, the egg-info, and cargo's target directory (unless
CARGO_TARGET_DIR is set, which lets repeated builds reuse a cargo cache). The version is
Cargo.toml's. The wheel is tagged py3-none-<platform>: the library does not use Python's C API,
so one wheel serves every Python 3 on that platform.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension, Strip

HERE = os.path.dirname(os.path.abspath(__file__))
CARGO_TOML = os.path.normpath(os.path.join(HERE, "..", "..", "Cargo.toml"))


def cargo_version() -> str:
    """The `version` of Cargo.toml's [package] table: the one version of the project."""
    if not os.path.exists(CARGO_TOML):
        raise SystemExit(f"{CARGO_TOML} not found: build the wheel from a socketcore checkout "
                         "(pip install ./bindings/python or pip wheel ./bindings/python)")
    table = None
    with open(CARGO_TOML, encoding="utf-8") as f:
        for line in f:
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                table = header.group(1).strip()
                continue
            m = re.match(r'\s*version\s*=\s*"([^"]+)"', line)
            if table == "package" and m:
                return m.group(1)
    raise SystemExit(f"no [package] version in {CARGO_TOML}")


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: bound to the platform (a native library inside), not to a Python."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        return "py3", "none", plat


scratch = tempfile.mkdtemp(prefix="socketcore-wheel-")
atexit.register(shutil.rmtree, scratch, ignore_errors=True)
os.environ.setdefault("CARGO_TARGET_DIR", os.path.join(scratch, "cargo"))

setup(
    version=cargo_version(),
    rust_extensions=[
        RustExtension(
            "socketcore._libsocketcore",
            path=CARGO_TOML,
            binding=Binding.NoBinding,
            py_limited_api=True,  # names the file .abi3.so: no CPython version in it
            strip=Strip.All,
            # Cargo.lock as committed: cargo never rewrites it (the checkout may be read-only).
            args=["--locked"],
        )
    ],
    cmdclass={"bdist_wheel": PlatformWheel},
    options={
        "build": {"build_base": os.path.join(scratch, "build")},
        "egg_info": {"egg_base": scratch},
    },
    zip_safe=False,
)
