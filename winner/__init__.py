"""winner: a window-based location tagger with hand-written backpropagation.

Every token is the centre of a window of 2h+1 words; the window is embedded,
scored by s = u . f(W x + b), and the token is a location when s exceeds a
threshold chosen on dev. Training is max-margin SGD on (true, corrupted) pairs.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "WinnerError"]

from winner.errors import WinnerError  # noqa: E402
