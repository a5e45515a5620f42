"""PC/SC names: pcsc-lite's rule, and every profile slot recognised under it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.hardware import load_profiles, match_reader, pcsc_reader_name, split_reader_name
from kiosk.hardware.naming import MAX_READERNAME, slot_pattern

READERS = load_profiles().readers

_serials = st.one_of(st.none(), st.text(alphabet="0123456789ABCDEF", min_size=4, max_size=16))
_index = st.integers(min_value=0, max_value=15)


def test_the_names_pcsc_lite_builds() -> None:
    assert (
        pcsc_reader_name("Cherry GmbH SmartTerminal ST-2xxx", interface="Vendor Interface")
        == "Cherry GmbH SmartTerminal ST-2xxx [Vendor Interface] 00 00"
    )
    assert pcsc_reader_name("Doctolib SR", interface="CCID", index=1, slot=2) == (
        "Doctolib SR [CCID] 01 02"
    )
    # the serial is left out when the interface string already holds it
    assert (
        pcsc_reader_name("R", interface="Contact_1050", serial="1050") == "R [Contact_1050] 00 00"
    )
    assert pcsc_reader_name("R", serial="1050") == "R (1050) 00 00"
    assert pcsc_reader_name("R", interface="Lecteur é") == "R [Lecteur ..] 00 00"
    assert len(pcsc_reader_name("R" * 300)) == MAX_READERNAME - 1


def test_the_simulated_desk_reader_follows_the_same_grammar() -> None:
    """kiosk.sim.cards.pcscd names its two slots '<name> 00 00' and '<name> 00 01'."""
    assert split_reader_name("Kiosk Desk 00 00") == ("Kiosk Desk", 0, 0)
    assert split_reader_name("Kiosk Desk 00 01") == ("Kiosk Desk", 0, 1)
    assert split_reader_name("Kiosk Desk") is None


def _described(pcsc_name: str, friendly: str) -> str | None:
    """The interface string a profile slot writes, or None when it has none."""
    middle = pcsc_name[len(friendly) : -len(" 00 00")]
    return middle[2:-1] if middle.startswith(" [") else None


@given(data=st.data(), serial=_serials, index=_index)
def test_every_profile_slot_matches_the_names_pcscd_gives_it(
    data: st.DataObject, serial: str | None, index: int
) -> None:
    key = data.draw(st.sampled_from(sorted(READERS)))
    usb = data.draw(st.sampled_from(READERS[key].usb))
    number = data.draw(st.integers(min_value=0, max_value=len(usb.slots) - 1))
    slot = usb.slots[number]
    interface = _described(slot.pcsc_name, usb.friendly_name)
    if interface is not None and "*" in interface:
        unit = data.draw(st.text(alphabet="0123456789", min_size=1, max_size=10))
        interface = interface.replace("*", unit)
    slot_number = int(slot.pcsc_name[-2:], 16)
    name = pcsc_reader_name(
        usb.friendly_name, interface=interface, serial=serial, index=index, slot=slot_number
    )
    found = match_reader(READERS, name)
    assert found is not None, name
    assert (found.key, found.usb.friendly_name, found.slot) == (key, usb.friendly_name, slot)


def test_the_written_slot_name_is_pcscds_name_for_the_first_reader() -> None:
    for profile in READERS.values():
        for usb in profile.usb:
            for slot in usb.slots:
                if "*" not in slot.pcsc_name:
                    interface = _described(slot.pcsc_name, usb.friendly_name)
                    built = pcsc_reader_name(
                        usb.friendly_name, interface=interface, slot=int(slot.pcsc_name[-2:], 16)
                    )
                    assert built == slot.pcsc_name


def test_an_unknown_reader_or_a_slot_the_model_lacks_is_no_match() -> None:
    assert match_reader(READERS, "Kiosk Desk 00 00") is None
    assert match_reader(READERS, "Cherry TC 1300 00 01") is None  # one slot only
    assert slot_pattern("Doctolib SR [CCID] 00 01").match("Doctolib SR [CCID] (AB12) 03 01")
