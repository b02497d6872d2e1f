"""`python -m gvoxel.main --config=configs/FILE.py:preset --workdir=DIR`: train (the launch
the design names; the command lives in gvoxel.cli.train)."""

from gvoxel.cli import common, train

if __name__ == "__main__":
    common.run(train.main, train.REQUIRED)
