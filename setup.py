"""The top-level configs/ ships inside the package as gvoxel.configs, so `--config=NAME:preset`
resolves from any folder after a plain `pip install`. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["gvoxel", "gvoxel.*"]) + ["gvoxel.configs"],
    package_dir={"gvoxel.configs": "configs"},
)
