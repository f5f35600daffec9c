"""Exceptions that cross layer boundaries.

The rule that makes "no event is lost" work: anything *transient* (an AWS call
that failed or throttled) propagates so the event is retried; anything about the
*content* becomes a fail-closed verdict; an object that is gone or changed since
the event was sent makes the event superseded.
"""


class GatekeeperError(Exception):
    """Base class."""


class SourceReadError(GatekeeperError):
    """Reading the object's bytes failed for a transient reason (retry the event).

    Tag readers must never turn this into an UNREADABLE verdict, even when a
    library (mutagen wraps I/O errors in MutagenError) re-raises it as something
    else: check the exception chain with `gatekeeper.errors.caused_by`.
    """


class ObjectSuperseded(GatekeeperError):
    """The object the event names is gone or has changed (404 / 412): the event is stale."""


def caused_by(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """The first exception of `kind` in `exc`'s cause/context chain, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


class PolicyUnavailable(GatekeeperError):
    """The policy could not be fetched for a transient reason (throttling, a 5xx, a timeout, no
    connection, after botocore's retries): every record waits and is retried; never a verdict."""


class ContentIndexMissing(GatekeeperError):
    """The policy turns content identification on, but no reference index is configured."""
