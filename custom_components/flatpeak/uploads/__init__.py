"""Uploads: an entry's energy statistics to Flatpeak's meter records, exactly once.

The coordinator runs the cycles and publishes :class:`UploadStatus`; the uploader plans,
sends and confirms each window; the progress Store remembers where each stream stands.
"""

from .coordinator import (
    DeviceStatus,
    StreamPosition,
    UploadCoordinator,
    UploadStatus,
    async_remove_progress,
)
from .sensors import upload_entities
from .uploader import ChargerSessions

__all__ = [
    "ChargerSessions",
    "DeviceStatus",
    "StreamPosition",
    "UploadCoordinator",
    "UploadStatus",
    "async_remove_progress",
    "upload_entities",
]
