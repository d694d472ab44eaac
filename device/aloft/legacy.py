# What this agent reads of the state an agent before 0.3.0 left: its journal (where.LEGACY, ops inline)
# while that agent installs this one and judges it from /.aloft/agent, and its installed record (files
# inline), rewritten once as a file list (docs/device.md, "From an agent before 0.3.0"). Both are bounded by
# what that agent could hold: a format-1 release, at most 256 files. Loaded only while such state exists.
# pack: zlib
from . import fs, tree, where


def op(ops, i, kind):
    # The first op of kind at or after index i of a legacy journal's ops, as ops.Ops gives them, and
    # the index after it; (None, i) when there is none. ["del", path, old]; ["put", path, src, new, old]
    # (new is always path#new); there is no "m".
    name = "del" if kind == "d" else "put" if kind == "p" else None
    while i < len(ops):
        o = ops[i]
        i += 1
        if o[0] == name:
            return ((o[1], None, o[2]) if name == "del" else (o[1], o[2], o[4])), i
    return None, i


def convert(state):
    # Rewrite a legacy installed record as this agent's: its files as a file list in where.LISTS
    # (sizes from the flash; a missing file gets 0, so the next update fetches it again), then
    # installed.json naming it. Returns the new record.
    from binascii import hexlify
    from hashlib import sha256

    files = state["files"]
    rec = {"version": state.get("version"), "sequence": state["sequence"]}
    if state.get("rejected"):
        rec["rejected"] = state["rejected"]
    if files:
        tree.makedirs(where.LISTS)
        tmp = where.LISTS + "/convert.tmp"
        h = sha256()
        with open(tmp, "w") as f:
            for path in sorted(files):
                st = fs.stat("/" + path)
                line = "%s %d %s\n" % (files[path], st[6] if st else 0, path)
                f.write(line)
                h.update(line)
        rec["list"] = hexlify(h.digest()).decode()
        fs.rename(tmp, where.LISTS + "/" + rec["list"])
    fs.write_json(where.INSTALLED, rec)
    print("aloft: installed record of %s rewritten for this agent" % rec["version"])
    return rec
