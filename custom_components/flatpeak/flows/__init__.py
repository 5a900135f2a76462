"""The config flows: the entry's (sign-in, location, house meter, Flatpeak Connect), its
options, reauth and reconfigure, and the device subentries."""

from .entry import FlatpeakConfigFlow
from .options import FlatpeakOptionsFlow

__all__ = ["FlatpeakConfigFlow", "FlatpeakOptionsFlow"]
