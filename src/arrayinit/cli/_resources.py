"""What the machine can take: the memory available, the free disk, and a writable regular file at each output
path; each refused as a one-line error before anything is generated or written."""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import shutil

from arrayinit import _safetensors
from arrayinit.cli._messages import human_size, one_line


def _read_int(path: str) -> int | None:
    try:
        text = pathlib.Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int | None:
    """Bytes of memory this process can still take: the system's available memory, within a cgroup's limit.

    None when the platform does not say (then no memory check is made).
    """
    found = []
    with contextlib.suppress(OSError, ValueError):
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),  # v1
    ):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:
            found.append(max(cap - used, 0))
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found) if found else None


def free_disk(path: str) -> int:
    """Free bytes in the folder that will hold ``path`` (where its symbolic links lead)."""
    return shutil.disk_usage(_safetensors.output_folder(path)).free


def check_memory(need: int, what: str) -> None:
    """A MemoryError-free refusal: ValueError when ``need`` bytes exceed the available memory."""
    avail = available_memory()
    if avail is not None and need > avail:
        raise ValueError(
            f"{what} needs about {human_size(need)} of memory; this machine has {human_size(avail)} available"
        )


def check_disk(need: int, path: str, option: str = "--out", what: str = "the file needs") -> None:
    """An ``ENOSPC`` OSError naming ``option`` when a file of ``need`` bytes does not fit in ``path``'s folder.

    ``what``: the subject of the message (``the file needs``, ``the shards to write need``).
    """
    free = free_disk(path)
    if need > free:
        raise OSError(
            errno.ENOSPC,
            f"{option} {path!r}: {what} {human_size(need)} and its folder has {human_size(free)} free",
        )


def check_writable(path: str, option: str) -> None:
    """Refuse an output path whose folder is missing or read-only, or that names anything but a regular file.

    A symbolic link is followed (the file it points to is written, the link
    stays a link); a folder, FIFO, socket or device is never replaced.
    """
    try:
        target = _safetensors.output_target(path)
    except OSError as e:
        raise type(e)(f"{option}: {one_line(e)}") from None
    folder = os.path.dirname(os.path.abspath(target))
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{option}: cannot write {path!r}: the folder {folder!r} is not writable")
