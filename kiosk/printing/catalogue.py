"""The wording of receipts, labels and test pages, in French and English.

One catalogue per language (STYLE.md §10). Receipts address the patient: short
sentences, the actions in the order they are done (DOMAIN.md §1: later logins use a
one-time code by SMS or e-mail).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Wording", "wording"]


@dataclass(frozen=True)
class Wording:
    """Every string a printed page may carry, in one language."""

    receipt_title: str
    receipt_subtitle: str
    printed_on: str
    patient: str
    account_id: str
    credential_caption: str
    credential_hint: str
    portal: str
    scan_me: str
    next_steps_title: str
    next_steps: tuple[str, ...]
    keep_safe: str
    label_caption: str
    label_family_name: str
    label_given_names: str
    label_sex: str
    label_birth_date: str
    label_birth_place: str
    test_title: str
    test_profile: str
    test_width: str
    test_accents: str
    test_qr: str


_FR = Wording(
    receipt_title="Mon espace santé",
    receipt_subtitle="Vos informations de connexion",
    printed_on="Imprimé le {date} à {time}",
    patient="Patient·e",
    account_id="Identifiant",
    credential_caption="Mot de passe provisoire",
    credential_hint="Le zéro a un point au centre, la lettre O n'en a pas.",
    portal="Adresse du site",
    scan_me="Scannez ce code avec votre téléphone",
    next_steps_title="Prochaines étapes",
    next_steps=(
        "1. Ouvrez l'adresse ci-dessus ou scannez le code.",
        "2. Saisissez l'identifiant et le mot de passe provisoire.",
        "3. Recevez un code à usage unique par SMS ou e-mail.",
        "4. Choisissez votre nouveau mot de passe.",
    ),
    keep_safe="Gardez ce ticket pour vous. Ne le communiquez à personne.",
    label_caption="INS",
    label_family_name="Nom de naissance",
    label_given_names="Prénoms",
    label_sex="Sexe",
    label_birth_date="Né(e) le",
    label_birth_place="Lieu (INSEE)",
    test_title="Page de test",
    test_profile="Profil",
    test_width="Largeur",
    test_accents="Accents : à â ç é è ê ë î ï ô ù û ü œ É È À Ç €",
    test_qr="QR de contrôle",
)

_EN = Wording(
    receipt_title="Mon espace santé",
    receipt_subtitle="Your sign-in details",
    printed_on="Printed on {date} at {time}",
    patient="Patient",
    account_id="Account identifier",
    credential_caption="Temporary password",
    credential_hint="Zero has a dot in its centre; the letter O has none.",
    portal="Website",
    scan_me="Scan this code with your phone",
    next_steps_title="Next steps",
    next_steps=(
        "1. Open the address above or scan the code.",
        "2. Enter the identifier and the temporary password.",
        "3. Receive a one-time code by text message or e-mail.",
        "4. Choose your new password.",
    ),
    keep_safe="Keep this ticket to yourself. Do not share it with anyone.",
    label_caption="INS",
    label_family_name="Birth name",
    label_given_names="Given names",
    label_sex="Sex",
    label_birth_date="Born on",
    label_birth_place="Place (INSEE)",
    test_title="Test page",
    test_profile="Profile",
    test_width="Width",
    test_accents="Accents: à â ç é è ê ë î ï ô ù û ü œ É È À Ç €",
    test_qr="Check QR",
)


def wording(lang: str) -> Wording:
    """The catalogue for ``lang``; anything but ``en`` is French, the default."""
    return _EN if lang == "en" else _FR
