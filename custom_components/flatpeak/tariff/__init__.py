"""Whether Flatpeak can price the location now (no tariff, Connect pending, no price data)."""

from .gate import TARIFF_RETRY, TariffGate, tariff_problem

__all__ = ["TARIFF_RETRY", "TariffGate", "tariff_problem"]
