# Enrollment (docs/protocol.md, "Enrollment"): a generic image's config.json holds an enrollment
# secret instead of an id and token. At the first check the device picks its id (board.unique_id()),
# trades the secret for a token, and writes both into config.json (temp + rename). Loaded only
# while a device is not enrolled yet.
# pack: zlib
from . import board, config, fs


def enroll(cfg):
    # Enroll with cfg["enroll"]; return cfg with "id" and "token" (and no "enroll") once they are
    # on flash. Raises OSError with the reason (the caller reports "error"; the next check retries).
    from . import api

    dev = cfg.get("id") or board.unique_id()
    print("aloft: enrolling as %s" % dev)
    body = {"id": dev}
    if cfg.get("tags"):
        body["tags"] = cfg["tags"]  # from `aloft device image --tag`
    try:
        a = api.post({"server": cfg["server"], "token": cfg["enroll"], "timeout": cfg.get("timeout", 10), "ca": cfg.get("ca")}, "/api/v1/device/enroll", body)
    except OSError as e:
        why = str(e)
        if why.startswith("HTTP 409"):
            why += "; if this device enrolled before and lost its token, the admin must issue a new one (aloft device token %s)" % dev
        elif why.startswith("HTTP 401"):
            why += "; the enrollment secret is unknown or revoked"
        raise OSError("enrollment as %s failed: %s" % (dev, why))
    token = a.get("token") if isinstance(a, dict) else None
    if not isinstance(token, str) or not token or a.get("id", dev) != dev:
        raise OSError("enrollment as %s failed: malformed answer" % dev)
    raw = fs.read_json(config.CONFIG)  # the file itself, without the simulator's overrides
    raw.pop("enroll", None)
    raw["id"] = dev
    raw["token"] = token
    fs.write_json(config.CONFIG, raw)
    print("aloft: enrolled as %s (channel %s)" % (dev, a.get("channel")))
    cfg.pop("enroll", None)
    cfg["id"] = dev
    cfg["token"] = token
    return cfg
