"""``start_charging_session`` / ``end_charging_session``: a charger's session by hand."""

from __future__ import annotations

from typing import Any

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util

from ..compat import vol
from ..const import CONF_DEVICE_ID, DOMAIN, SUBENTRY_EV_CHARGER
from ..core.sessions import Session
from ..sessions import SessionTracker
from .helpers import ensure_loaded, invalid, shown

ATTR_DEVICE = "device_id"
ATTR_LABEL = "label"
SERVICE_START_SESSION = "start_charging_session"
SERVICE_END_SESSION = "end_charging_session"
# A name for a car or a trip; it is shown on the Session cost sensor and in every
# session_completed event, so it stays short.
MAX_LABEL_CHARS = 100

START_SCHEMA = vol.Schema(
    {vol.Required(ATTR_DEVICE): cv.string, vol.Optional(ATTR_LABEL): cv.string}
)
END_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE): cv.string})


def _charger(call: ServiceCall) -> SessionTracker:
    """The session tracker of the chosen EV charger (of a loaded entry)."""
    device_id = call.data[ATTR_DEVICE]
    device = dr.async_get(call.hass).async_get(device_id)
    flatpeak_ids = (
        {value for domain, value in device.identifiers if domain == DOMAIN} if device else set()
    )
    for entry in call.hass.config_entries.async_entries(DOMAIN):
        for subentry in entry.subentries.values():
            if (
                subentry.subentry_type != SUBENTRY_EV_CHARGER
                or subentry.data.get(CONF_DEVICE_ID) not in flatpeak_ids
            ):
                continue
            tracker = ensure_loaded(entry).runtime_data.sessions.tracker(subentry.subentry_id)
            if tracker is None:  # a charger added since the entry loaded: it reloads
                break
            return tracker
    name = (device.name_by_user or device.name or device_id) if device else device_id
    raise invalid("not_a_charger", device=shown(name))


def _answer(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.id,
        "start": session.start.isoformat(),
        "end": session.end.isoformat() if session.end else None,
        "label": session.label,
    }


async def async_start_session(call: ServiceCall) -> ServiceResponse:
    """Open a session on the charger now (a label longer than :data:`MAX_LABEL_CHARS` is
    refused first)."""
    label: str | None = call.data.get(ATTR_LABEL)
    if label is not None and len(label) > MAX_LABEL_CHARS:
        raise invalid("label_too_long", field=ATTR_LABEL, limit=MAX_LABEL_CHARS)
    tracker = _charger(call)
    if (already := tracker.open_session) is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="already_charging",
            translation_placeholders={"session_id": already.id},
        )
    session = tracker.async_start_manual(dt_util.utcnow(), label)
    assert session is not None  # none was open
    return _answer(session)


async def async_end_session(call: ServiceCall) -> ServiceResponse:
    """Close the charger's open session now."""
    tracker = _charger(call)
    session = tracker.async_end_manual(dt_util.utcnow())
    if session is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_charging")
    return _answer(session)
