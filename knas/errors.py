"""One base class for every error a user can cause (bad input, missing files), so front ends
can show the message instead of a traceback; and the one exception that stops work on request."""


class KnasError(Exception):
    """An error in what the user gave: its message says what is wrong and what to do."""


class Cancelled(Exception):
    """The user asked a search (and whatever it runs, locally or on Ray) to stop."""
