# A stand-in for a DHT22 driver: deterministic readings so the demo output is stable.
def read():
    return 21.5, 48
