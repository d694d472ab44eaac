def check(t, h):
    if t > 30 or h < 30:
        return " ALERT"
    return " ok"
