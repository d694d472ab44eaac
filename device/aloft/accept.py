# Keeping the release on trial: its trust adopted, the previous release's files dropped, a confirmed
# event queued (docs/device.md, "Trial boots, confirmation and rollback"). Loaded only then.
from . import config, fs, journal, trial
from .journal import committed, trial_state
from .ops import Ops


def confirm(j=None):
    """Keep the release on trial (journal j, else the one on flash): drop the previous files and the
    trial record, queue a confirmed event. False when no release is on trial."""
    from . import outbox

    if j is None:
        j = journal.read()
        if j is None or not committed(j):
            return False
    t = trial_state(j) or {"sequence": j["sequence"], "boots": 0}
    if t.get("state") == "rollback":
        return False
    if t.get("state") != "confirmed":
        t["state"] = "confirmed"
        fs.write_json(config.TRIAL, t)
    n = j.get("trust")
    if n:  # the release's trust replaces the current one; again after a reset, until the journal goes
        fs.write_json(config.TRUST, {"keys": n["keys"], "threshold": n["threshold"], "sequence": j["sequence"]})
    _drop_old(j)
    outbox.add("confirmed", j["version"], j["sequence"])
    trial.cleanup(False)
    print("aloft: %s confirmed" % j["version"])
    return True


def _drop_old(j):
    # The previous release's files, kept beside the new ones during the trial.
    for kind in "dmp":
        with Ops(j, kind) as ops:
            for path, _, old in ops:
                if old:
                    fs.rmtree(old) if kind == "m" else fs.remove(old)
                    if kind != "p":
                        fs.prune(old)  # a folder the release no longer has
