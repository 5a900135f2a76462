"""The energy streams of an entry: which sensor feeds which Flatpeak device, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..client import EnergyFlowDirection, TariffDirection
from ..const import (
    CONF_APPLIANCE_ENERGY,
    CONF_CHARGER_ENERGY,
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DEVICE_SUBENTRIES,
    SUBENTRY_APPLIANCE,
    SUBENTRY_EV_CHARGER,
    SUBMISSION_CUMULATIVE,
)


class Subentry(Protocol):
    """What a stream needs of a config subentry (Home Assistant's ``ConfigSubentry``)."""

    @property
    def subentry_id(self) -> str: ...

    @property
    def subentry_type(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


class Entry(Protocol):
    """What streams need of a config entry: its subentries."""

    @property
    def subentries(self) -> Mapping[str, Subentry]: ...


# The one stream of an EV charger, and of any other appliance.
CHARGER_STREAM = "ev_charger"
APPLIANCE_STREAM = "appliance"


@dataclass(frozen=True, slots=True)
class ApplianceKind:
    """A device with one energy sensor of its own, priced at the import tariff: which
    subentry key holds the sensor, its stream, its cost statistic's kind and name suffix,
    and whether it also detects charging sessions. Every such device takes the same path
    (flow, uploads, cost statistic, sensors); an EV charger only adds its sessions."""

    energy_key: str
    stream: str
    statistic: str
    suffix: str
    sessions: bool


APPLIANCES: dict[str, ApplianceKind] = {
    SUBENTRY_EV_CHARGER: ApplianceKind(
        CONF_CHARGER_ENERGY, CHARGER_STREAM, "charging_cost", "charging cost", sessions=True
    ),
    SUBENTRY_APPLIANCE: ApplianceKind(
        CONF_APPLIANCE_ENERGY, APPLIANCE_STREAM, "appliance_cost", "cost", sessions=False
    ),
}

# house meter stream name → (subentry data key, energy flow, tariff direction, confidence)
_KINDS: dict[str, tuple[str, EnergyFlowDirection, TariffDirection, float | None]] = {
    CONF_GRID_IMPORT: (CONF_GRID_IMPORT, EnergyFlowDirection.INBOUND, TariffDirection.IMPORT, None),
    CONF_GRID_EXPORT: (
        CONF_GRID_EXPORT,
        EnergyFlowDirection.OUTBOUND,
        TariffDirection.EXPORT,
        None,
    ),
    CONF_SOLAR: (CONF_SOLAR, EnergyFlowDirection.INBOUND, TariffDirection.LOCAL, 1.0),
}
_APPLIANCE_FLOW = (EnergyFlowDirection.INBOUND, TariffDirection.IMPORT, None)


@dataclass(frozen=True, slots=True)
class Stream:
    """One sensor's energy going to one Flatpeak device."""

    name: str
    subentry_id: str
    device_id: str
    entity_id: str
    flow: EnergyFlowDirection
    tariff: TariffDirection
    confidence: float | None
    cumulative: bool
    sessions: bool  # an EV charger's: its records carry their charging sessions

    @property
    def key(self) -> str:
        """Where this stream's progress is kept: stable while the device and stream are."""
        return stream_key(self.device_id, self.name)


def stream_key(device_id: str, name: str) -> str:
    """The progress key of a device's stream (``Stream.key``)."""
    return f"{device_id}:{name}"


def entry_streams(entry: Entry) -> list[Stream]:
    """Every stream the entry's subentries map, in a stable order."""
    streams: list[Stream] = []
    for subentry in entry.subentries.values():
        if subentry.subentry_type not in DEVICE_SUBENTRIES:
            continue
        appliance = APPLIANCES.get(subentry.subentry_type)
        kinds = (
            [(appliance.stream, appliance.energy_key, *_APPLIANCE_FLOW)]
            if appliance is not None
            else [
                (name, *_KINDS[name]) for name in (CONF_GRID_IMPORT, CONF_GRID_EXPORT, CONF_SOLAR)
            ]
        )
        for name, key, flow, tariff, confidence in kinds:
            if not (entity_id := subentry.data.get(key)):
                continue
            streams.append(
                Stream(
                    name=name,
                    subentry_id=subentry.subentry_id,
                    device_id=subentry.data[CONF_DEVICE_ID],
                    entity_id=entity_id,
                    flow=flow,
                    tariff=tariff,
                    confidence=confidence,
                    cumulative=subentry.data.get(CONF_SUBMISSION_MODE) == SUBMISSION_CUMULATIVE,
                    sessions=appliance is not None and appliance.sessions,
                )
            )
    return streams
