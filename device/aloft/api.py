# The JSON half of the protocol: POST a JSON body, read a JSON answer (check-in, events, enrollment).
from . import http, reply


def post(cfg, path, value):
    # POST value as JSON and return the parsed answer (None for an empty one).
    # Raises OSError for a non-2xx status, with the server's error message in it.
    import json

    r = http.request(cfg["server"], "POST", path, cfg["token"], json.dumps(value).encode(), cfg.get("timeout", 10), "", cfg.get("ca"))
    try:
        if r.status // 100 != 2:
            try:
                why = reply.read(r)["message"]
            except Exception:
                why = "no details"
            raise OSError("HTTP %d from %s: %s" % (r.status, path, why))
        if r.status == 204 or r.length == 0:
            return None
        return reply.read(r)
    finally:
        r.sock.close()
