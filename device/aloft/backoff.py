# When to try again: the pause before a retry, and the time until the next check (aloft.check). Less a random
# part of up to half, so a fleet does not come back in step.


def jitter(ms):
    # ms less a random part of up to half of it.
    try:
        from random import getrandbits

        r = getrandbits(16)
    except ImportError:
        import time

        r = time.ticks_us() & 0xFFFF
    return ms - ms * r // 131072


def interval(poll, errors):
    # Seconds until the next check after one that ended errors checks in a row unanswered: the server's
    # interval poll, else the configured one, sooner after errors (10 s, 20 s, 40 s ... less jitter); between
    # 10 s and a day, so the ticks arithmetic cannot wrap.
    if not isinstance(poll, int):
        try:
            from . import config

            poll = int(config.load().get("poll", 300))
        except Exception:
            poll = 300
        if errors:
            poll = max(jitter(min(poll, 10 << min(errors - 1, 12)) * 1000) // 1000, 10)
    return min(max(poll, 10), 86400)
