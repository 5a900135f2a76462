"""Home Assistant's config flow platform: the flows themselves are in ``flows/``."""

from .flows import FlatpeakConfigFlow, FlatpeakOptionsFlow

__all__ = ["FlatpeakConfigFlow", "FlatpeakOptionsFlow"]
