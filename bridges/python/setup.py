"""Build step of the libsds distribution: the metadata is in pyproject.toml.

By default the wheel is pure Python and finds libsds at import time
($SDS_LIBRARY_PATH, the package directory, or the system's library path).
With SDS_BUNDLE_LIBRARY set to a built libsds (`make wheel` sets it to
build/libsds.so.0), the library is copied into the package and the wheel is
tagged for this platform (py3-none-<sysconfig.get_platform()>): the bridge
itself uses only ctypes, so one wheel serves every Python 3 on the platform.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py

BUNDLE = os.environ.get("SDS_BUNDLE_LIBRARY", "")


class BuildPy(build_py):
    """Copies the library named by SDS_BUNDLE_LIBRARY next to the package."""

    def run(self) -> None:
        super().run()
        if not BUNDLE:
            return
        if not os.path.isfile(BUNDLE):
            raise SystemExit(f"SDS_BUNDLE_LIBRARY={BUNDLE}: no such file (run `make lib` first)")
        dest = os.path.join(self.build_lib, "sds", os.path.basename(BUNDLE))
        shutil.copy2(BUNDLE, dest)


class BundleDistribution(Distribution):
    """With a bundled library the distribution is platform-specific: the
    package goes to platlib at the root of a non-pure wheel."""

    def has_ext_modules(self) -> bool:
        return bool(BUNDLE)


class BdistWheel(bdist_wheel):
    """Tags a wheel with a bundled library for this platform, any Python 3."""

    def get_tag(self) -> Any:
        python, abi, plat = super().get_tag()
        if BUNDLE:
            return "py3", "none", plat
        return python, abi, plat


setup(distclass=BundleDistribution, cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel})
