"""ATR → card kind, from profile data in ``hw/cards/*.toml`` (DOMAIN.md §5).

A pattern is a list of hexadecimal bytes where ``x`` is a wildcard nibble (``4x``)
or byte (``xx``); spaces are optional. Profiles are data so that a site can add
the ATR of a new card generation without a release; ``simulation = true`` marks a
pattern that is ours, not the manufacturer's (verify on site).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.cards.ports import CardKind
from kiosk.errors import CardError, ConfigError
from kiosk.hardware.loading import load_kind
from kiosk.hardware.models import CardProfileModel
from kiosk.locale import msg

__all__ = ["AtrPattern", "CardProfile", "CardProfiles", "UnknownCard", "format_atr"]


def format_atr(atr: bytes) -> str:
    """``3B 75 13 …``: the usual way to show an ATR."""
    return atr.hex(" ").upper()


class UnknownCard(CardError):
    """A card whose ATR matches no profile in ``hw/cards``."""

    code = "CARD_UNKNOWN"

    def __init__(self, atr: bytes) -> None:
        shown = format_atr(atr)
        super().__init__(
            msg("cards.atr.unknown_card", text=shown or msg("cards.atr.empty")),
            detail=f"atr={shown or '-'}",
        )
        self.atr = atr


@dataclass(frozen=True)
class AtrPattern:
    """One ATR pattern: nibbles, ``None`` where the pattern has ``x``."""

    nibbles: tuple[int | None, ...]

    @classmethod
    def parse(cls, text: str) -> AtrPattern:
        """Parse ``"3B 75 13 00 00 4x 09 EA 90 00"``; raises ValueError when malformed."""
        compact = "".join(text.split()).upper()
        if not compact or len(compact) % 2:
            raise ValueError(f"ATR pattern {text!r} is not whole bytes")
        return cls(tuple(None if c == "X" else int(c, 16) for c in compact))

    def matches(self, atr: bytes) -> bool:
        """True when every fixed nibble equals the ATR's."""
        hexed = atr.hex().upper()
        if len(hexed) != len(self.nibbles):
            return False
        return all(n is None or int(c, 16) == n for c, n in zip(hexed, self.nibbles, strict=True))


@dataclass(frozen=True)
class CardProfile:
    """A card family: kind, label, its ATR patterns."""

    name: str
    kind: CardKind
    label: str
    patterns: tuple[AtrPattern, ...]
    simulation: bool = False


class CardProfiles:
    """Every profile of a directory; ``identify`` gives the first match or None."""

    def __init__(self, profiles: list[CardProfile]) -> None:
        self.profiles = profiles

    @classmethod
    def load(cls, directory: Path) -> CardProfiles:
        """Load ``directory/*.toml``; bad files are one ConfigError naming each file and key."""
        paths = sorted(directory.glob("*.toml"))
        if not paths:
            # Without profiles every card would read as "unknown": say what is wrong instead.
            raise ConfigError(
                msg("cards.atr.card_profiles_load", directory=directory),
            )
        # The schema of hw/ (kiosk.hardware) checks every file, every problem at once.
        profiles = [
            CardProfile(
                name=model.name or key,
                kind=CardKind(model.kind),
                label=model.label or key,
                patterns=tuple(AtrPattern.parse(p) for p in model.patterns),
                simulation=model.simulation,
            )
            for key, model in load_kind("cards", directory).items()
            if isinstance(model, CardProfileModel)
        ]
        return cls(profiles)

    @classmethod
    def default(cls) -> CardProfiles:
        """The profiles shipped in ``hw/cards`` of the source tree."""
        return cls.load(Path(__file__).resolve().parents[2] / "hw" / "cards")

    def identify(self, atr: bytes) -> CardProfile | None:
        """The first profile with a pattern matching ``atr``."""
        for profile in self.profiles:
            if any(p.matches(atr) for p in profile.patterns):
                return profile
        return None

    def kind(self, atr: bytes) -> tuple[CardKind, str]:
        """Kind and profile name; ``UNKNOWN`` and ``""`` when nothing matches."""
        profile = self.identify(atr)
        return (profile.kind, profile.name) if profile else (CardKind.UNKNOWN, "")
