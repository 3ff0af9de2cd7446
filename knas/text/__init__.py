"""Text for the text cell space: the frozen encoder (``encoder``) and the cached token features
the networks read (``features``). The readers of the text files are ``knas.data.text``."""
