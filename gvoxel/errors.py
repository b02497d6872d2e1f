"""One exception type for every user-facing problem (bad file, bad shape, bad config).

CLIs catch `GVoxelError` and print its message as one line with a non-zero exit code.
"""


class GVoxelError(Exception):
    """A problem the user can fix; the message names it in one line."""


class InputError(GVoxelError):
    """Bad data: missing/unreadable file, wrong rank, values out of range, NaN."""


class ConfigError(GVoxelError):
    """Bad configuration: unknown key, wrong type, impossible value."""
