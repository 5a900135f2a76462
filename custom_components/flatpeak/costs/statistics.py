"""The entry's cost statistics in the recorder: ids, metadata, baselines, writes, removal.

One external statistic (source ``flatpeak``) per priced stream of a Flatpeak device: the house
meter's grid import cost, grid export value and solar value, each appliance's cost (an EV
charger's: charging cost). Ids are made of the Flatpeak device id, so they stay the same for
the entry's life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
    valid_statistic_id,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance

from ..client import TariffDirection
from ..const import (
    CONF_DEVICE_ID,
    CONF_GRID_EXPORT,
    CONF_GRID_IMPORT,
    CONF_SOLAR,
    CONF_SUBMISSION_MODE,
    DEVICE_SUBENTRIES,
    DOMAIN,
    SUBMISSION_CUMULATIVE,
)
from ..core.cost_hours import HourRow
from ..core.records import HOUR
from ..core.streams import APPLIANCES, stream_key

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

# Only HA 2025.11 and later know ``unit_class``; on 2025.4 passing it makes the recorder
# thread fail the metadata insert without telling the caller.
_HAS_UNIT_CLASS = "unit_class" in StatisticMetaData.__annotations__

# sensor key in subentry data → (stream, statistic kind, tariff direction, name suffix)
_HOUSE_METER = (
    (
        CONF_GRID_IMPORT,
        CONF_GRID_IMPORT,
        "grid_import_cost",
        TariffDirection.IMPORT,
        "grid import cost",
    ),
    (
        CONF_GRID_EXPORT,
        CONF_GRID_EXPORT,
        "grid_export_value",
        TariffDirection.EXPORT,
        "grid export value",
    ),
    (CONF_SOLAR, CONF_SOLAR, "solar_value", TariffDirection.LOCAL, "solar value"),
)


@dataclass(frozen=True, slots=True)
class CostStatistic:
    """One cost statistic: which device and direction it prices, and its id and name;
    ``stream`` is the key of the upload stream whose energy it prices."""

    subentry_id: str
    device_id: str
    kind: str
    direction: TariffDirection
    statistic_id: str
    name: str
    stream: str = ""
    cumulative: bool = False


def entry_cost_statistics(entry: ConfigEntry, location_name: str) -> list[CostStatistic]:
    """The cost statistics of every stream the entry's devices have, in a stable order."""
    result = []
    for subentry in entry.subentries.values():
        if subentry.subentry_type not in DEVICE_SUBENTRIES:
            continue
        appliance = APPLIANCES.get(subentry.subentry_type)
        device_id = str(subentry.data[CONF_DEVICE_ID])
        owner = subentry.title if appliance is not None else location_name
        cumulative = subentry.data.get(CONF_SUBMISSION_MODE) == SUBMISSION_CUMULATIVE
        kinds: tuple[tuple[str, str, str, TariffDirection, str], ...] = _HOUSE_METER
        if appliance is not None:
            kinds = (
                (
                    appliance.energy_key,
                    appliance.stream,
                    appliance.statistic,
                    TariffDirection.IMPORT,
                    appliance.suffix,
                ),
            )
        for key, stream, kind, direction, suffix in kinds:
            if not subentry.data.get(key):
                continue
            statistic_id = f"{DOMAIN}:{device_id.lower()}_{kind}"
            if not valid_statistic_id(statistic_id):  # a device id Flatpeak would not issue
                continue
            result.append(
                CostStatistic(
                    subentry.subentry_id,
                    device_id,
                    kind,
                    direction,
                    statistic_id,
                    f"Flatpeak {owner} {suffix}",
                    stream_key(device_id, stream),
                    cumulative,
                )
            )
    return result


def _metadata(statistic: CostStatistic, currency: str) -> StatisticMetaData:
    meta: dict[str, Any] = {
        "source": DOMAIN,
        "statistic_id": statistic.statistic_id,
        "name": statistic.name,
        "unit_of_measurement": currency,
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
    }
    if _HAS_UNIT_CLASS:
        meta["unit_class"] = None  # money has no unit converter
    return cast(StatisticMetaData, meta)


def async_write(
    hass: HomeAssistant, statistic: CostStatistic, currency: str, rows: list[HourRow]
) -> None:
    """Queue the hours for the recorder; an hour it has is replaced. No rows: metadata only."""
    async_add_external_statistics(
        hass,
        _metadata(statistic, currency),
        [{"start": row.start, "state": row.state, "sum": row.sum} for row in rows],
    )


def _sum_before(hass: HomeAssistant, statistic_id: str, start: datetime) -> float | None:
    """Recorder executor: the ``sum`` of the row just before ``start``, if there is one."""
    rows = statistics_during_period(
        hass, start - HOUR, start, {statistic_id}, "hour", None, {"sum"}
    ).get(statistic_id)
    if rows:
        return float(rows[-1].get("sum") or 0.0)
    return None


def _latest(hass: HomeAssistant, statistic_id: str) -> datetime | None:
    """Recorder executor: the start of the newest row of a statistic."""
    rows = get_last_statistics(hass, 1, statistic_id, True, {"sum"}).get(statistic_id)
    if not rows:
        return None
    return datetime.fromtimestamp(float(rows[0]["start"]), UTC)


async def async_baseline(hass: HomeAssistant, statistic_id: str, start: datetime) -> float:
    """The running total before ``start``: the previous hour's ``sum``, else 0.

    Windows always start at or before the last hour written, so the only way there is no
    row at ``start - 1 h`` is that nothing was ever written before ``start``.
    """
    found = await get_instance(hass).async_add_executor_job(_sum_before, hass, statistic_id, start)
    return found or 0.0


async def async_latest_hour(hass: HomeAssistant, statistic_id: str) -> datetime | None:
    """The newest hour written for a statistic (survives restarts: it is in the recorder)."""
    return await get_instance(hass).async_add_executor_job(_latest, hass, statistic_id)


def _states(
    hass: HomeAssistant, statistic_id: str, start: datetime, end: datetime
) -> list[HourRow]:
    rows = statistics_during_period(
        hass, start, end, {statistic_id}, "hour", None, {"state", "sum"}
    ).get(statistic_id, [])
    return [
        HourRow(
            datetime.fromtimestamp(float(row["start"]), UTC),
            float(row.get("state") or 0.0),
            float(row.get("sum") or 0.0),
        )
        for row in rows
    ]


async def async_hours(
    hass: HomeAssistant, statistic_id: str, start: datetime, end: datetime
) -> list[HourRow]:
    """The hours already written in ``[start, end)`` (for totals reaching before a window)."""
    return await get_instance(hass).async_add_executor_job(_states, hass, statistic_id, start, end)


def async_clear(hass: HomeAssistant, statistic_ids: list[str]) -> None:
    """Remove statistics from the recorder (their entry or device is gone)."""
    if statistic_ids:
        get_instance(hass).async_clear_statistics(statistic_ids)
