# Streaming one blob to the stage: socket -> (inflate) -> SHA-256 + file, through the caller's
# buffer only, so nothing is allocated per chunk and RAM use does not grow with the file size.
from . import config, http
from .update import Failed


def blob(cfg, f, packed, buf):
    """Fetch the blob of manifest entry f into config.STAGE/<sha256>, raw or zlib-packed, and
    check its size and SHA-256; Failed(reason) when anything is wrong."""
    from hashlib import sha256
    from binascii import hexlify

    sha, size, path = f["sha256"], f["size"], f["path"]
    print("aloft: get %s (%d bytes%s)" % (path, size, ", zlib" if packed else ""))
    url = "/api/v1/blobs/" + sha + ("/zlib" if packed else "")
    r = http.request(cfg["server"], "GET", url, cfg["token"], None, cfg.get("timeout", 10))
    try:
        if r.status != 200:
            raise Failed("HTTP %d for %s" % (r.status, path))
        src = r.sock
        if packed:
            import deflate

            src = deflate.DeflateIO(src, deflate.ZLIB, 10)  # the server compresses with a 1 KiB window
        elif r.length != size:
            raise Failed("server sends %d bytes for %s, manifest says %d" % (r.length, path, size))
        h = sha256()
        done = 0
        full = len(buf)
        with open(config.STAGE + "/" + sha, "wb") as out:
            while done < size:
                n = src.readinto(buf, min(size - done, full))
                if not n:
                    raise Failed("connection closed after %d of %d bytes of %s" % (done, size, path))
                chunk = buf if n == full else buf[:n]
                h.update(chunk)
                out.write(chunk)
                done += n
            # Reading on to the end makes the inflater check the zlib trailer (Adler-32).
            if packed and src.readinto(buf, 1):
                raise Failed("%s inflates to more than %d bytes" % (path, size))
        if hexlify(h.digest()).decode() != sha:
            raise Failed("sha256 mismatch for " + path)
    except EOFError:  # from the inflater
        raise Failed("download of %s failed: connection closed inside the zlib stream" % path)
    except OSError as e:  # socket errors and timeouts; EINVAL from the inflater: corrupt data
        import errno

        code = e.args[0] if e.args else None
        why = errno.errorcode[code] if code in errno.errorcode else str(e)
        if packed and code == errno.EINVAL:
            why = "corrupt zlib data"
        raise Failed("download of %s failed: %s" % (path, why))
    finally:
        r.close()
