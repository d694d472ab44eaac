# One blob transfer: socket -> (inflate) -> SHA-256 + file, through the caller's buffer only, so
# nothing is allocated per chunk and RAM use does not grow with the file size. The file is synced
# every few KiB so a reset keeps what came.
import time
from micropython import const
from . import fs, http

_SYNC = const(8192)  # bytes between file syncs: what a reset can cost a download at most
_ENOSPC = const(28)


def get(cfg, sha, size, path, buf, part, h, have):
    """Request blob sha (size bytes, for path) from byte have on (its first have bytes are in the file
    part and were fed to the SHA-256 h) and append the rest to part. A whole blob is asked for compressed
    (Accept-Encoding: deflate), a rest raw with Range. Returns the hash of the whole file.
    OSError(reason) when another attempt may mend what failed, ValueError(reason) when not."""
    from hashlib import sha256

    timeout = cfg.get("timeout", 10)
    print("aloft: get %s (%d bytes%s)" % (path, size, ", from %d" % have if have else ""))
    r = None
    packed = False
    try:
        ask = "Range: bytes=%d-\r\n" % have if have else "Accept-Encoding: deflate\r\n"
        r = http.request(cfg["server"], "GET", "/api/v1/blobs/" + sha, cfg["token"], None, timeout, ask, cfg.get("ca"))
        mode = "wb"
        if have and r.status == 206 and r.start == have:
            mode = "ab"
        elif r.status == 200:
            if have:
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
        src = r.sock
        packed = r.deflate and r.status == 200
        if packed:
            import deflate

            src = deflate.DeflateIO(src, deflate.ZLIB, 10)  # the server compresses with a 1 KiB window
        elif r.length != size - have:
            raise ValueError("server sends %d bytes for %s, manifest says %d" % (have + r.length, path, size))
        # However slowly a server trickles, a download ends: at least min_speed bytes/s on average.
        secs = min(timeout + (size - have) // max(cfg.get("min_speed", 1024), 1), 86400)
        late = time.ticks_add(time.ticks_ms(), secs * 1000)
        done = have
        full = len(buf)
        with open(part, mode) as out:
            unsynced = 0
            while done < size:
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
                if unsynced >= _SYNC:
                    out.flush()  # LittleFS commits the file: a reset keeps these bytes
                    unsynced = 0
            # Reading on to the end makes the inflater check the zlib trailer (Adler-32).
            more = packed and src.readinto(buf, 1)
        if more:
            fs.remove(part)
            raise OSError("%s inflates to more than %d bytes" % (path, size))
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
            r.close()
