"""The one build step pyproject.toml cannot declare: the demo newsroom's data.

``config/`` at the repository's root is the one source of the demo categories and the seed
article (``config/*.jsonl``); package data can only come from inside the package, so the build
copies those files into the wheel as ``feedsvc/demo/data/``. ``feedsvc.demo.newsroom`` reads that
copy when installed and ``config/`` when running from a checkout. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DEMO_SOURCE = Path("config")
DEMO_TARGET = Path("feedsvc", "demo", "data")


class BuildPyWithDemoData(build_py):
    """build_py, then ``config/*.jsonl`` copied to ``feedsvc/demo/data/`` in the build."""

    def run(self) -> None:
        super().run()
        sources = sorted(DEMO_SOURCE.glob("*.jsonl"))
        if not sources:
            raise SystemExit(
                f"{DEMO_SOURCE}/*.jsonl is missing: build from the repository (or an sdist, "
                "which MANIFEST.in gives config/)"
            )
        target = Path(self.build_lib, DEMO_TARGET)
        self.mkpath(str(target))
        for source in sources:
            self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildPyWithDemoData})
