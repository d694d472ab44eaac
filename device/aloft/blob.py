# One blob into the stage (download.py): resumed from its .part when one is on flash, requested (the whole blob
# compressed, or the rest of it raw with Range), its bytes moved from the socket (inflated when they come
# zlib-packed) into the .part file and its SHA-256 through the caller's buffer only, so nothing is allocated per
# chunk and RAM use does not grow with the file size (the file synced every few KiB, so a reset keeps what came),
# and renamed into place only once its size and SHA-256 are right. A failure is an OSError when another attempt
# may mend it, a ValueError when not.
import time
from micropython import const
from . import fs, http

_ENOSPC = const(28)
_SYNC = const(8192)  # bytes between file syncs: what a reset can cost a download at most
raw = False  # the inflater did not fit once: the rest of this download stage asks for raw bytes


def get(cfg, sha, size, label, dst, buf):
    # Fetch blob sha into dst, resuming a partial download in dst.part, and check its size and SHA-256.
    # OSError(reason) when another attempt may succeed, ValueError(reason) when it cannot.
    from hashlib import sha256
    from binascii import hexlify

    part = dst + ".part"
    h = sha256()
    have = fs.feed(part, h, buf)
    if have > size:
        fs.remove(part)
        h = sha256()
        have = 0
    if size == 0:  # an empty file needs no request
        open(part, "wb").close()
    elif have < size:
        h = request(cfg, sha, size, label, buf, part, h, have)
    if hexlify(h.digest()).decode() != sha:
        fs.remove(part)  # which byte is wrong is unknown: the next attempt starts over
        if size == 0:
            raise ValueError("%s is empty but its sha256 is not that of no bytes" % label)
        raise OSError("sha256 mismatch for " + label)
    fs.rename(part, dst)


def request(cfg, sha, size, path, buf, part, h, have):
    # Request blob sha (size bytes, for path) from byte have on (its first have bytes are in the file part
    # and were fed to the SHA-256 h) and append the rest to part. Returns the hash of the whole file.
    global raw
    timeout = cfg.get("timeout", 10)
    print("aloft: get %s (%d bytes%s)" % (path, size, ", from %d" % have if have else ""))
    r = None
    packed = False
    try:
        ask = "Range: bytes=%d-\r\n" % have if have else "" if raw else "Accept-Encoding: deflate\r\n"
        r = http.request(cfg["server"], "GET", "/api/v1/blobs/" + sha, cfg["token"], None, timeout, ask, cfg.get("ca"))
        mode = "wb"
        if have and r.status == 206 and r.start == have:
            mode = "ab"
        elif r.status == 200:
            if have:
                from hashlib import sha256

                print("aloft: the server sent all of %s, starting over" % path)
                h = sha256()
                have = 0
        elif r.status == 416:
            fs.remove(part)
            raise OSError("range refused for " + path)
        elif r.status // 100 == 4 and r.status not in (408, 429):
            raise ValueError("HTTP %d for %s" % (r.status, path))
        else:
            raise OSError("HTTP %d for %s" % (r.status, path))
        packed = r.deflate and r.status == 200
        if not packed and r.length != size - have:
            raise ValueError("server sends %d bytes for %s, manifest says %d" % (have + r.length, path, size))
        if copy(r.sock, packed, part, mode, h, have, size, path, buf, timeout + (size - have) // max(cfg.get("min_speed", 1024), 1)):
            return h
    except EOFError:  # from the inflater: the stream ended early; what came is good
        raise OSError("download of %s failed: connection closed inside the zlib stream" % path)
    except OSError as e:  # socket errors and timeouts; EINVAL from the inflater: corrupt data
        import errno

        code = e.args[0] if e.args else None
        if not isinstance(code, int):
            raise  # one of ours: its text is the reason
        if code == _ENOSPC:
            raise ValueError("insufficient storage: flash full while writing " + path)
        why = errno.errorcode[code] if code in errno.errorcode else str(e)
        if packed and code == errno.EINVAL:
            fs.remove(part)  # bytes inflated from a corrupt stream may be wrong too
            why = "corrupt zlib data"
        raise OSError("download of %s failed: %s" % (path, why))
    finally:
        if r:
            r.sock.close()
    # No RAM for the inflater (nothing was written): better the raw bytes than no update.
    if raw:  # packed although not asked for: asking again would get the same
        raise ValueError("no RAM to inflate %s, and the server sends it packed unasked" % path)
    print("aloft: no RAM to inflate %s; it and the rest come raw" % path)
    raw = True
    r = None
    import gc

    gc.collect()
    return request(cfg, sha, size, path, buf, part, h, have)


def copy(src, packed, part, mode, h, done, size, path, buf, secs):
    # Bytes done.. of a blob of size bytes from the socket src into the file part (opened with mode) and
    # the hash h, within secs seconds; packed: the socket carries them as a zlib stream. False, with nothing
    # written, when there is no RAM for the inflater, or for the file beside it (request() then asks for the
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
