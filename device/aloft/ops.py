# The ops of an install journal (journal.py), read back from flash one line at a time; or from the
# journal itself when an agent before 0.3.0 wrote it (legacy.py).
from . import config, fs, where


class Ops:
    # The ops of journal j of one kind ("d", "m" or "p"), in order, as (path, src, old): src is the
    # staged file of a put (None otherwise), old is path#old or None (a put over nothing). Use as
    # `with Ops(j, kind) as ops: for path, src, old in ops: ...`: the file is closed on every path.

    def __init__(self, j, kind):
        self.kind = kind
        self.legacy = j["ops"] if j.get("legacy") else None
        self.i = 0
        self.f = None
        if self.legacy is None:
            try:
                self.f = open(where.OPS)
            except OSError:  # written before the header and removed after it: gone only once the header is
                if fs.stat(where.JOURNAL) is not None:
                    raise OSError("the journal's ops are missing")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.f:
            self.f.close()

    def __iter__(self):
        return self

    def __next__(self):
        if self.f is None and self.legacy is None:
            raise StopIteration
        if self.legacy is not None:
            from . import legacy

            op, self.i = legacy.op(self.legacy, self.i, self.kind)
            if op is None:
                raise StopIteration
            return op
        while True:
            line = self.f.readline()
            if not line:
                raise StopIteration
            if line[0] != self.kind:
                continue
            if self.kind != "p":
                return line[2:-1], None, line[2:-1] + "#old"
            sha, _, flag, path = line[2:-1].split(" ", 3)
            return path, config.staged(sha, path), path + "#old" if flag == "1" else None
