"""Whether Flatpeak can price the location now (no tariff, Connect pending, no price data)."""

from .gate import TariffGate, tariff_problem

__all__ = ["TariffGate", "tariff_problem"]
