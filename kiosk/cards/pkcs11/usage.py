"""Key usage flags of a token's RSA pairs, as their certificates state (test tokens).

``softhsm2-util --import`` gives every imported private key SIGN, DECRYPT and UNWRAP
(and its public key ENCRYPT, VERIFY, WRAP), and ``pkcs11-tool`` can only add flags. A
real CPS card holds a non-repudiation key that signs and nothing else, and an
authentication key used to sign the TLS handshake. :func:`sign_only` sets the flags
of the given key ids so (``C_SetAttributeValue``): SIGN/VERIFY on, DECRYPT, UNWRAP,
ENCRYPT, WRAP and DERIVE off, so that a decryption with such a key is refused by the
token itself, as on a card.

Run as ``python -m kiosk.cards.pkcs11.usage MODULE TOKEN KEY_ID…`` with the user PIN
on stdin: the test tokens are provisioned in a child process, because a PKCS#11 module
reads its configuration once per process (``tests/softhsm.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pkcs11
from pkcs11 import Attribute, ObjectClass

__all__ = ["sign_only"]

_PRIVATE_OFF = (Attribute.DECRYPT, Attribute.UNWRAP, Attribute.DERIVE)
_PUBLIC_OFF = (Attribute.ENCRYPT, Attribute.WRAP)


def sign_only(module: Path, token_label: str, pin: str, key_ids: list[bytes]) -> int:
    """Leave each key pair of ``key_ids`` signing only; the number of objects changed."""
    token = pkcs11.lib(str(module)).get_token(token_label=token_label)
    changed = 0
    with token.open(user_pin=pin, rw=True) as session:
        for key_id in key_ids:
            for cls, off, on in (
                (ObjectClass.PRIVATE_KEY, _PRIVATE_OFF, Attribute.SIGN),
                (ObjectClass.PUBLIC_KEY, _PUBLIC_OFF, Attribute.VERIFY),
            ):
                for obj in session.get_objects({Attribute.CLASS: cls, Attribute.ID: key_id}):
                    for attribute in off:
                        obj[attribute] = False
                    obj[on] = True
                    changed += 1
    return changed


def _main(argv: list[str]) -> int:
    module, token_label, *ids = argv
    pin = sys.stdin.readline().strip()
    changed = sign_only(Path(module), token_label, pin, [bytes.fromhex(i) for i in ids])
    return 0 if changed == 2 * len(ids) else 1


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
