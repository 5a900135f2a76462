"""The demo account's tariffs and the tariffs offered on the emulated Connect page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _hours(valid_from: str, valid_to: str, rate: float) -> dict[str, Any]:
    return {
        "valid_from": valid_from,
        "valid_to": valid_to,
        "rate": [{"fixed": rate, "to_kwh": None}],
    }


def flat_schedule(rate: float) -> list[dict[str, Any]]:
    """A schedule with one rate at all times."""
    return [
        {
            "months": ["All"],
            "days_and_hours": [{"days": ["All"], "hours": [_hours("00:00:00", "00:00:00", rate)]}],
        }
    ]


def tou_schedule(offpeak: float, peak: float, standard: float) -> list[dict[str, Any]]:
    """UK-style time of use: cheap 00:30-04:30 every day, peak 16:00-19:00 on weekdays."""
    night = [_hours("00:00:00", "00:30:00", standard), _hours("00:30:00", "04:30:00", offpeak)]
    return [
        {
            "months": ["All"],
            "days_and_hours": [
                {
                    "days": ["Weekday"],
                    "hours": [
                        *night,
                        _hours("04:30:00", "16:00:00", standard),
                        _hours("16:00:00", "19:00:00", peak),
                        _hours("19:00:00", "00:00:00", standard),
                    ],
                },
                {"days": ["Weekend"], "hours": [*night, _hours("04:30:00", "00:00:00", standard)]},
            ],
        }
    ]


@dataclass(frozen=True)
class Demo:
    """What ``EmulatorState.seed_demo()`` creates, so tests can compute expected costs.

    The first demo account of a state gets these fixed credentials (handy for people running
    the emulator by hand); further demo accounts on the same state get random ones.
    """

    account_id: str = "acc_000000000000000000000de0"
    api_key: str = "sk_test_demo" + "0" * 28  # sk_test_ + 32 characters
    location_reference_id: str = "demo-home"
    country_code: str = "GB"
    timezone: str = "Europe/London"
    currency_code: str = "GBP"
    import_offpeak: float = 0.07  # 00:30-04:30 every day
    import_peak: float = 0.35  # 16:00-19:00 Monday to Friday
    import_standard: float = 0.245  # all other times
    export_rate: float = 0.15
    local_rate: float = 0.05

    @property
    def import_schedule(self) -> list[dict[str, Any]]:
        """The demo location's IMPORT COMMODITY schedule."""
        return tou_schedule(self.import_offpeak, self.import_peak, self.import_standard)

    @property
    def export_schedule(self) -> list[dict[str, Any]]:
        """The demo location's EXPORT COMMODITY schedule."""
        return flat_schedule(self.export_rate)

    @property
    def local_schedule(self) -> list[dict[str, Any]]:
        """The demo location's LOCAL (own generation) price."""
        return flat_schedule(self.local_rate)


DEMO = Demo()


@dataclass(frozen=True)
class ConnectPreset:
    """A tariff a customer can pick on the emulated Connect page."""

    key: str
    name: str
    schedule: list[dict[str, Any]]


CONNECT_PRESETS: dict[str, ConnectPreset] = {
    preset.key: preset
    for preset in (
        ConnectPreset("flat", "Flat 24.5p", flat_schedule(0.245)),
        ConnectPreset(
            "cheap_nights",
            "Time of use (cheap nights)",
            [
                {
                    "months": ["All"],
                    "days_and_hours": [
                        {
                            "days": ["All"],
                            "hours": [
                                _hours("00:30:00", "04:30:00", 0.07),
                                _hours("04:30:00", "00:30:00", 0.27),
                            ],
                        }
                    ],
                }
            ],
        ),
        ConnectPreset("peak", "Time of use (weekday peak)", tou_schedule(0.07, 0.35, 0.245)),
    )
}
CONNECT_EXPORT_RATE = 0.15  # Connect also attaches a flat export tariff at this rate
