# A blob's bytes from the socket (inflated when they come zlib-packed) into its .part file and its SHA-256,
# through the caller's buffer only, so nothing is allocated per chunk and RAM use does not grow with the file
# size. The file is synced every few KiB so a reset keeps what came.
import time
from micropython import const
from . import fs

_SYNC = const(8192)  # bytes between file syncs: what a reset can cost a download at most


def copy(src, packed, part, mode, h, done, size, path, buf, secs):
    # Bytes done.. of a blob of size bytes from the socket src into the file part (opened with mode) and
    # the hash h, within secs seconds; packed: the socket carries them as a zlib stream. False, with nothing
    # written, when there is no RAM for the inflater, or for the file beside it (transfer.py then asks for the
    # bytes raw); else True.
    full = len(buf)
    n = None  # a read made before the loop: the first of a packed blob, before the file is opened
    out = None
    if packed:
        try:
            import deflate

            src = deflate.DeflateIO(src, deflate.ZLIB, 10)  # the server compresses with a 1 KiB window at most
            n = src.readinto(buf, min(size - done, full))  # the inflater's state and window are allocated here
            out = open(part, mode)  # and then the file's buffer beside them, still before anything is written
        except MemoryError:
            return False
    # However slowly a server trickles, a download ends: at least min_speed bytes/s on average.
    late = time.ticks_add(time.ticks_ms(), min(secs, 86400) * 1000)
    with out or open(part, mode) as out:
        unsynced = 0
        while done < size:
            if n is None:
                if time.ticks_diff(time.ticks_ms(), late) > 0:
                    raise OSError("%s too slow: %d of %d bytes in time" % (path, done, size))
                n = src.readinto(buf, min(size - done, full))
            if not n:
                raise OSError("connection closed after %d of %d bytes of %s" % (done, size, path))
            chunk = buf if n == full else buf[:n]
            out.write(chunk)
            h.update(chunk)
            done += n
            unsynced += n
            n = None
            if unsynced >= _SYNC:
                out.flush()  # LittleFS commits the file: a reset keeps these bytes
                unsynced = 0
        # Reading on to the end makes the inflater check the zlib trailer (Adler-32).
        more = packed and src.readinto(buf, 1)
    if more:
        fs.remove(part)
        raise OSError("%s inflates to more than %d bytes" % (path, size))
    return True
