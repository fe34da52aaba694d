"""Errors a user can cause. Each message names the file or setting and says what to do; the
CLI prints it as one line (exit code 2) and the editor shows it in a dialog."""


class KinoraError(Exception):
    """Base of every user-facing error."""


class ProjectFileError(KinoraError):
    """A project file cannot be read or written: names the file and the reason."""


class EditError(KinoraError):
    """A timeline edit would break a rule (overlap, wrong track kind, beyond the source...)."""


class MediaError(KinoraError):
    """A media file cannot be probed, decoded or written: names the file and what to do."""


class ModelError(KinoraError):
    """A model is missing, partial, incompatible or unsafe to load."""


class UserError(KinoraError):
    """Other bad input on the command line."""
