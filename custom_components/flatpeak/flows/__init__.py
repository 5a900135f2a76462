"""The config flows: the entry's (sign-in, location, house meter, Flatpeak Connect), its
options, reauth and reconfigure, and the device subentries."""

from .connect import FlowLookup
from .entry import FlatpeakConfigFlow
from .options import FlatpeakOptionsFlow
from .tariff_connect import TariffConnectSteps

__all__ = ["FlatpeakConfigFlow", "FlatpeakOptionsFlow", "FlowLookup", "TariffConnectSteps"]
