"""One base class for every error a user can cause (bad input, missing files), so front ends
can show the message instead of a traceback."""


class KnasError(Exception):
    """An error in what the user gave: its message says what is wrong and what to do."""
