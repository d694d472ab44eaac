# Getting a release's blobs into the stage. A download arrives in <sha256>.part (transfer.py
# streams it there); the next attempt after a failure or a reset re-hashes those bytes and asks
# only for the rest. Only when the whole file hashes right is it renamed to <sha256>.
# A failure another attempt may mend (network, server error, bytes that do not hash right) is an
# OSError; one it cannot (a 4xx, a size that contradicts the manifest, a full flash) a ValueError.
import gc
import os
import time
from . import config, fs


def fetch(cfg, files, zlib):
    """Every blob of the manifest entries files not yet staged (zlib: the check-in's map of packed
    blobs). A transient failure is tried again (resuming) after a pause that doubles each time,
    with jitter so a fleet does not come back in step. Returns None, or why it failed."""
    from . import _jitter, transfer  # transfer and http load first, before the buffers: one block each

    tries = int(cfg.get("retries", 3)) + 1
    pause = int(float(cfg.get("backoff", 2)) * 1000)
    buf = memoryview(bytearray(1024))
    for f in files:
        if fs.stat(config.STAGE + "/" + f["sha256"]) is not None:
            print("aloft: have %s already" % f["path"])
            continue
        n = 0
        while True:
            try:
                blob(cfg, f, f["sha256"] in zlib, buf)
                break
            except OSError as e:
                n += 1
                if n >= tries:
                    return str(e)
                wait = _jitter(pause << (n - 1))
                print("aloft: %s; try %d of %d in %d ms" % (e, n + 1, tries, wait))
                time.sleep_ms(wait)
            except ValueError as e:  # another attempt cannot mend it
                return str(e)
            except Exception as e:  # a bug or an exhausted heap: keep the traceback
                import sys

                sys.print_exception(e)
                return "%s: %s" % (type(e).__name__, e)
            finally:
                gc.collect()
    return None


def blob(cfg, f, packed, buf):
    """Fetch the blob of manifest entry f into config.STAGE/<sha256>, raw or zlib-packed, resuming
    a partial download, and check its size and SHA-256. OSError(reason) when another attempt may
    succeed, ValueError(reason) when it cannot."""
    from hashlib import sha256
    from binascii import hexlify

    sha, size, path = f["sha256"], f["size"], f["path"]
    part = config.STAGE + "/" + sha + ".part"
    h = sha256()
    have = fs.feed(part, h, buf)
    if have > size:
        fs.remove(part)
        h = sha256()
        have = 0
    if have < size:
        from . import transfer

        h = transfer.get(cfg, f, packed and not have, buf, part, h, have)  # a zlib stream cannot resume midway
    if hexlify(h.digest()).decode() != sha:
        fs.remove(part)  # which byte is wrong is unknown: the next attempt starts over
        raise OSError("sha256 mismatch for " + path)
    os.rename(part, config.STAGE + "/" + sha)
