# Aloft update agent hook. An agent failure must never keep the application from starting.
try:
    import aloft

    aloft.boot()
except Exception as e:
    import sys

    print("aloft: agent error, starting the application anyway")
    sys.print_exception(e)
