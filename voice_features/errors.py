"""The one error class of the voice_features library."""

__all__ = ["VoiceFeaturesError"]


class VoiceFeaturesError(Exception):
    """Audio that cannot be analysed, with a reason a person can read.

    Parameters
    ----------
    message : str
        What is wrong, written for the person who uploaded the file.
    code : str
        A stable machine-readable slug (``"empty"``, ``"not_audio"``, ...).
    """

    def __init__(self, message: str, *, code: str = "invalid_audio") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
