"""Assertions that record a failure and go on, for the end-to-end test scripts.

    from checks import check, check_eq, failures, log
    checks.verbose = True     # also print the checks that pass

A script runs its cases, then exits non-zero if `failures` is not empty.
"""

failures = []    # what failed, in order (one line each)
verbose = False  # print "ok" lines too


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    if cond:
        if verbose:
            log("  ok   %s" % what)
    else:
        failures.append(what)
        log("  FAIL %s" % what)


def check_eq(actual, expected, what):
    check(actual == expected, "%s: expected %r, got %r" % (what, expected, actual))


def bulk(value):
    """A RESP2 bulk string's exact bytes."""
    value = value.encode() if isinstance(value, str) else value
    return b"$%d\r\n%s\r\n" % (len(value), value)


def array(*items):
    """A RESP2 array's exact bytes, from its items' bytes."""
    return b"*%d\r\n" % len(items) + b"".join(items)
