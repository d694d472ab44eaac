# The agent's state files on flash (docs/device.md, "On the board's flash"), beside config.py's folder, stage and
# configuration. A module of its own so that steps which touch none of them (a download) do not hold their names.
from .config import DIR

INSTALLED = DIR + "/installed.json"  # {"version", "sequence", "list"?: sha256 of LISTS/<sha256>, "rejected"?}
LISTS = DIR + "/lists"  # file lists (docs/protocol.md, "File list"): the installed release's, and during an install the new one's
JOURNAL = DIR + "/journal"  # an install's header, from just before its first rename until it is confirmed or rolled back
OPS = DIR + "/journal.ops"  # the install's renames, one per line (journal.py)
LEGACY = DIR + "/journal.json"  # the journal of an agent before 0.3.0, while it installs this one (legacy.py)
TRIAL = DIR + "/trial.json"  # {"sequence", "boots", "state": "trial"|"confirmed"|"rollback", "reason"?}
OUTBOX = DIR + "/outbox.json"  # events not delivered yet, oldest first
TRUST = DIR + "/trust.json"  # {"keys", "threshold", "sequence"}: adopted from a confirmed release; else config's keys
PREVIOUS = DIR + "/agent"  # PREVIOUS/aloft: the agent before an update of the agent, until it is confirmed
FWSTEP = DIR + "/fwstep.json"  # a firmware step, from its first byte written until it is confirmed or rolled back (flash.py)
