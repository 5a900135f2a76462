"""Constants of the Flatpeak integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "flatpeak"

# Config entry data
CONF_ACCOUNT_ID: Final = "account_id"
CONF_API_KEY: Final = "api_key"
CONF_BASE_URL: Final = "base_url"
CONF_LOCATION_ID: Final = "location_id"

# Subentries: each one is a Flatpeak device and one Home Assistant device.
SUBENTRY_HOUSE_METER: Final = "house_meter"
SUBENTRY_EV_CHARGER: Final = "ev_charger"
# Any other energy-using device (heat pump, dishwasher, a smart plug): one energy sensor,
# priced at the import tariff. An EV charger is an appliance that also detects sessions.
SUBENTRY_APPLIANCE: Final = "appliance"
# A cheap window is no Flatpeak device: a search Flatpeak runs for the location.
SUBENTRY_CHEAP_WINDOW: Final = "cheap_window"
# The subentries that are Flatpeak devices (have CONF_DEVICE_ID and energy to upload).
DEVICE_SUBENTRIES: Final = frozenset(
    {SUBENTRY_HOUSE_METER, SUBENTRY_EV_CHARGER, SUBENTRY_APPLIANCE}
)

# Subentry data
CONF_DEVICE_ID: Final = "device_id"
CONF_REFERENCE_ID: Final = "reference_id"
CONF_GRID_IMPORT: Final = "grid_import"
CONF_GRID_EXPORT: Final = "grid_export"
CONF_SOLAR: Final = "solar"
CONF_CHARGER_ENERGY: Final = "charger_energy"
CONF_APPLIANCE_ENERGY: Final = "appliance_energy"
CONF_SESSION_MODE: Final = "session_mode"
CONF_SESSION_ENTITY: Final = "session_entity"
CONF_SESSION_STATES: Final = "session_states"
CONF_POWER_SENSOR: Final = "power_sensor"
CONF_POWER_THRESHOLD: Final = "power_threshold"
CONF_SUBMISSION_MODE: Final = "submission_mode"

# Cheap window subentry data. What to look for: slots totalling a duration (minutes), or every
# slot below a share of the window's price range (percent, 1-100) or below a price per kWh.
CONF_SEARCH: Final = "search"
SEARCH_DURATION: Final = "duration"
SEARCH_RELATIVE: Final = "relative_limit"
SEARCH_ABSOLUTE: Final = "price_limit"
CONF_DURATION: Final = "duration"
CONF_RELATIVE_LIMIT: Final = "relative_limit"
CONF_PRICE_LIMIT: Final = "price_limit"
# Where: between two local times ("HH:MM:SS"; an end at or before the start crosses
# midnight) or a rolling next N hours (1-72).
CONF_WINDOW: Final = "window"
WINDOW_BETWEEN: Final = "between"
WINDOW_ROLLING: Final = "rolling"
CONF_WINDOW_START: Final = "window_start"
CONF_WINDOW_END: Final = "window_end"
CONF_ROLLING_HOURS: Final = "rolling_hours"
# Cheapest (use energy) or dearest (export, or stay off); import or export prices.
CONF_SEGMENT: Final = "segment"
SEGMENT_CHEAPEST: Final = "cheapest"
SEGMENT_DEAREST: Final = "dearest"
CONF_DIRECTION: Final = "direction"
DIRECTION_IMPORT: Final = "import"
DIRECTION_EXPORT: Final = "export"
# "The cheapest 3 hours tonight".
DEFAULT_CHEAP_WINDOW: Final = {
    CONF_SEARCH: SEARCH_DURATION,
    CONF_DURATION: 180,
    CONF_WINDOW: WINDOW_BETWEEN,
    CONF_WINDOW_START: "18:00:00",
    CONF_WINDOW_END: "07:00:00",
    CONF_SEGMENT: SEGMENT_CHEAPEST,
    CONF_DIRECTION: DIRECTION_IMPORT,
}
MAX_ROLLING_HOURS: Final = 72

SESSION_MODE_STATE: Final = "state"
SESSION_MODE_POWER: Final = "power"
SUBMISSION_INTERVAL: Final = "interval"
SUBMISSION_CUMULATIVE: Final = "cumulative"

DEFAULT_SESSION_STATES: Final = ["on", "charging"]
DEFAULT_POWER_THRESHOLD_W: Final = 100.0

# Options
CONF_UPLOAD_INTERVAL: Final = "upload_interval"
CONF_HISTORY_DAYS: Final = "history_days"
DEFAULT_UPLOAD_INTERVAL_MIN: Final = 15
MIN_UPLOAD_INTERVAL_MIN: Final = 5
MAX_UPLOAD_INTERVAL_MIN: Final = 60
DEFAULT_HISTORY_DAYS: Final = 10
MAX_HISTORY_DAYS: Final = 365
# The periods the cost sensors total: the day of the month a billing period starts on
# (1 = calendar months; 29-31 mean the last day in shorter months) and the first day of
# the week ("mon" … "sun"; without it, the usual one where the home is).
CONF_BILLING_DAY: Final = "billing_day"
DEFAULT_BILLING_DAY: Final = 1
CONF_FIRST_WEEKDAY: Final = "first_weekday"

# Repair issue ids (suffixed with the entry or subentry id)
ISSUE_NO_IMPORT_TARIFF: Final = "no_import_tariff"
ISSUE_SENSOR_PROBLEM: Final = "sensor_problem"
ISSUE_RECORDS_REJECTED: Final = "records_rejected"
# A cheap window Flatpeak cannot plan; its translation key is this plus the 422 code.
ISSUE_CHEAP_WINDOW: Final = "cheap_window"

FLATPEAK_DASHBOARD_URL: Final = "https://dashboard.flatpeak.com"

# Flatpeak's 422 codes for a location whose prices or costs cannot be computed (yet).
TARIFF_NO_TARIFF_CONNECTED: Final = "no_tariff_connected"
TARIFF_PENDING_CONNECT: Final = "pending_connect"
TARIFF_NO_PRICE_DATA: Final = "no_price_data"
# One issue per entry; its translation key is this id's prefix plus the code.
ISSUE_TARIFF_PROBLEM: Final = "tariff_problem"
