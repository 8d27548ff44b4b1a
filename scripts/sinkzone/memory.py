"""Process memory: hand freed heap back to the system after large temporary objects."""

from __future__ import annotations

import ctypes
import gc


def release_memory() -> None:
    """Free a closed figure now and hand the freed heap back to the system.

    A figure's artists form reference cycles, so its arrays wait for the cyclic garbage
    collector; and glibc keeps freed large blocks in the heap (its mmap threshold grows
    after the first large free), so the process would keep the peak of every map.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
