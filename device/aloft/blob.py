# One blob into the stage (download.py): resumed from its .part when one is on flash, fetched (transfer.py),
# and renamed into place only once its size and SHA-256 are right.
from . import fs, transfer


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
        h = transfer.get(cfg, sha, size, label, buf, part, h, have)
    if hexlify(h.digest()).decode() != sha:
        fs.remove(part)  # which byte is wrong is unknown: the next attempt starts over
        if size == 0:
            raise ValueError("%s is empty but its sha256 is not that of no bytes" % label)
        raise OSError("sha256 mismatch for " + label)
    fs.rename(part, dst)
