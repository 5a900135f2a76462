"""EV charging sessions: recognised, kept in the session book, priced by Flatpeak."""

from .book import SessionBook, async_remove_sessions
from .costs import SessionCostCoordinator, completed_data
from .sensors import session_entities
from .tracker import SessionTracker, async_load_installation

__all__ = [
    "SessionBook",
    "SessionCostCoordinator",
    "SessionTracker",
    "async_load_installation",
    "async_remove_sessions",
    "completed_data",
    "session_entities",
]
