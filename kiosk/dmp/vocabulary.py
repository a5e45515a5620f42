"""Every namespace, OID and code the DMP messages use, kept as data in one place.

Builders and parsers never spell a URI or an OID themselves: they read it here, so a
site checking the values against the official specifications (DOMAIN.md §6, GIE
SESAM-Vitale « Service DMP intégré aux LPS », ANS CI-SIS volets « Transport synchrone »
and « Structuration minimale des documents de santé », IHE ITI TF-3 §4.2.5) reads one
file. Values marked ``(verify)`` come from secondary public sources (the ANS
IG-hl7v2-volet-transmission-document-cda-r2 mapping of the VIHF, open-source DMP
clients) and must be confirmed against the GIE guide before production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kiosk.domain.ins import KNOWN_OIDS, OID_INS_NIR_TEST
from kiosk.domain.visibility import CODE_SYSTEM_DMP, CODE_SYSTEM_HL7_CONFIDENTIALITY, NORMAL

__all__ = [
    "ATTR",
    "AUTHN_CONTEXT",
    "CDA",
    "CONFIDENTIALITY_NORMAL",
    "DMP_DEVICE_OID",
    "DOCUMENT_CLASS",
    "DOCUMENT_MODELS",
    "HL7V3",
    "INS_OIDS",
    "INS_TEST_OID",
    "NS",
    "OID",
    "PURPOSE_OF_USE_SYSTEM",
    "SPECIALTY_REQUIRED_PROFESSIONS",
    "TD",
    "VIHF_VERSION",
    "XDS",
    "CodedValue",
    "DocumentModel",
]

NS: Final[dict[str, str]] = {
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "hl7": "urn:hl7-org:v3",
    "lcm": "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0",
    "xds": "urn:ihe:iti:xds-b:2007",
    "xop": "http://www.w3.org/2004/08/xop/include",
}
"""XML namespaces: SAML 2.0, HL7 v3 (CDA and messages), ebRIM/ebRS 3.0, IHE XDS.b, XOP."""

INS_TEST_OID: Final = OID_INS_NIR_TEST
"""INS-NIR test authority: the only one fictitious patients may carry (DOMAIN.md §2, §7)."""

INS_OIDS: Final[frozenset[str]] = KNOWN_OIDS
"""INS-NIR, INS-NIA, INS-NIR test, INS-NIR demo (DOMAIN.md §2)."""

OID: Final[dict[str, str]] = {
    "rpps": "1.2.250.1.71.4.2.1",  # national id of professionals (DOMAIN.md §6)
    "structure": "1.2.250.1.71.4.2.2",  # national id of structures (DOMAIN.md §6)
    "g15_profession": "1.2.250.1.71.1.2.7",  # TRE_G15 ProfessionSante (verify)
    "r01_specialty": "1.2.250.1.213.1.1.4.5",  # TRE_R01 EnsembleSavoirFaire-CISIS (verify)
    "r02_sector": "1.2.250.1.71.4.2.4",  # TRE_R02 SecteurActivite (verify)
    "loinc": "2.16.840.1.113883.6.1",
    "hl7_confidentiality": CODE_SYSTEM_HL7_CONFIDENTIALITY,
    "dmp_confidentiality": CODE_SYSTEM_DMP,
    "xds_format": "1.2.250.1.213.1.1.4.2.282",  # CI-SIS formatCode system (verify)
    "xds_class": "1.2.250.1.213.1.1.4.1",  # CI-SIS classCode system (verify)
    "xds_practice": "1.2.250.1.213.1.1.4.9",  # practiceSettingCode system (verify)
    "xds_content_type": "1.2.250.1.213.1.1.4.12",  # contentTypeCode system (verify)
}
"""Code systems and identifier authorities."""

DMP_DEVICE_OID: Final = "1.2.250.1.213.4.1.1.1"
"""Receiver device id of the DMP in HL7 v3 messages (verify; site configuration overrides)."""

VIHF_VERSION: Final = "3.0"
"""VIHF version of the DMP v2 web services (DOMAIN.md §6)."""

PURPOSE_OF_USE_SYSTEM: Final = "1.2.250.1.213.1.1.4.248"
"""Code system of the VIHF access mode (« mode accès VIHF 1.0 », verify)."""

SPECIALTY_REQUIRED_PROFESSIONS: Final[frozenset[str]] = frozenset({"10", "21"})
"""G15 professions whose VIHF must carry a specialty role: doctors and pharmacists."""

ATTR: Final[dict[str, str]] = {
    "version": "VIHF_Version",
    # Spelled "Authentification_Mode" in the ANS CDA-transmission mapping (verify).
    "auth_mode": "Authentification_mode",
    "structure": "Identifiant_Structure",
    "sector": "Secteur_Activite",
    "subject_id": "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
    "role": "urn:oasis:names:tc:xacml:2.0:subject:role",
    "resource_id": "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
    "resource_urn": "Ressource_URN",
    "purpose": "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
    "lps_id": "LPS_ID",
    "lps_name": "LPS_Nom",
    "lps_version": "LPS_Version",
    "lps_homologation": "LPS_ID_HOMOLOGATION_DMP",
    # Bris de glace: justification and the patient's identity as the professional
    # declared it (DOMAIN.md §6). Attribute names not confirmed by a public source (verify).
    "emergency_reason": "Mode_Acces_Raison",
    "patient_family_name": "Patient_Nom",
    "patient_given_name": "Patient_Prenom",
    "patient_birth_date": "Patient_Date_Naissance",
}
"""VIHF attribute names (SAML ``Attribute/@Name``)."""

AUTHN_CONTEXT: Final[dict[str, str]] = {
    "DIRECTE": "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
    "INDIRECTE": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
}
"""``AuthnContextClassRef`` per authentication mode: the card itself, or a local login."""

CONFIDENTIALITY_NORMAL: Final = NORMAL
"""HL7 ``N``: every DMP document carries it; the three visibility codes of DOMAIN.md §6
(``MASQUE_PS``, ``INVISIBLE_PATIENT``, ``INVISIBLE_REPRESENTANTS_LEGAUX``) belong to
the domain's ``Visibility``, which renders them."""

CDA: Final[dict[str, str]] = {
    "realm": "FR",
    "type_id_root": "2.16.840.1.113883.1.3",
    "type_id_extension": "POCD_HD000040",
    "template_hl7_france": "2.16.840.1.113883.2.8.2.1",
    "template_cisis": "1.2.250.1.213.1.1.1.1",
    "language": "fr-FR",
    "media_type": "application/pdf",
    "representation": "B64",
}
"""CDA R2 header constants of the CI-SIS (DOMAIN.md §6)."""


@dataclass(frozen=True)
class CodedValue:
    """An HL7 CE value: code, code system OID, display name."""

    code: str
    code_system: str
    display_name: str = ""


@dataclass(frozen=True)
class DocumentModel:
    """A CI-SIS document model: LOINC type, its label, the model's templates, XDS format."""

    code: str
    display_name: str
    template_ids: tuple[str, ...]
    format_code: str


# Level-1 documents (scanned or produced PDF): the CI-SIS « structuration minimale »
# model template and the IHE XDS-SD content template; XDS formatCode per CI-SIS (verify).
_N1_TEMPLATES = ("1.3.6.1.4.1.19376.1.2.20",)
DOCUMENT_MODELS: Final[dict[str, DocumentModel]] = {
    "discharge_summary": DocumentModel(
        "11490-0", "Lettre de liaison à la sortie", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    "hospital_report": DocumentModel(
        "34112-3", "Compte rendu d'hospitalisation", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    "consultation_report": DocumentModel(
        "11488-4", "Compte rendu de consultation", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    # Issue 17 item 6; LOINC codes of the CI-SIS JDV_J07 type-code value set (verify each).
    "discharge_prescription": DocumentModel(
        "57833-6", "Ordonnance de sortie", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    "operative_report": DocumentModel(
        "34874-8", "Compte rendu opératoire", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    "imaging_report": DocumentModel(
        "18748-4", "Compte rendu d'imagerie médicale", _N1_TEMPLATES, "urn:ihe:iti:xds-sd:pdf:2008"
    ),
    "laboratory_report": DocumentModel(
        "11502-2",
        "Compte rendu d'examens de biologie médicale",
        _N1_TEMPLATES,
        "urn:ihe:iti:xds-sd:pdf:2008",
    ),
}
"""Document models the kiosk may send, by key; all level 1 (PDF body)."""

DOCUMENT_CLASS: Final[dict[str, tuple[str, str]]] = {
    # XDS classCode per type (CI-SIS JDV_J06-XdsClassCode, verify): (code, label).
    "discharge_summary": ("10", "Compte rendu"),
    "hospital_report": ("10", "Compte rendu"),
    "consultation_report": ("10", "Compte rendu"),
    "operative_report": ("10", "Compte rendu"),
    "imaging_report": ("10", "Compte rendu"),
    "laboratory_report": ("10", "Compte rendu"),
    "discharge_prescription": ("20", "Traitement et soin"),
}
"""The XDS class of each document model the kiosk sends."""

XDS: Final[dict[str, str]] = {
    # IHE ITI TF-3 §4.2.5: classification schemes and external identifier schemes.
    "submission_set_node": "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",
    "stable_entry": "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1",
    "ss_author": "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
    "ss_content_type": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
    "ss_patient_id": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
    "ss_source_id": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
    "ss_unique_id": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",
    "de_author": "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
    "de_class": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "de_confidentiality": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "de_format": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "de_facility": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "de_practice": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "de_type": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
    "de_patient_id": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
    "de_unique_id": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",
    "classification_type": (
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
    ),
    "has_member": "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
    "success": "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success",
    "failure": "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure",
    "action": "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    "query_action": "urn:ihe:iti:2007:RegistryStoredQuery",
    "find_documents": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
    "query_ns": "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0",
    "status_approved": "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
    "status_deprecated": "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated",
}
"""IHE XDS.b ITI-41 identifiers (IHE ITI TF-3 Table 4.2.5-1 and ebRIM 3.0)."""

TD: Final[dict[str, tuple[str, str]]] = {
    # Transaction → (HL7 v3 interaction of the request, controlActProcess/reasonCode).
    # TD0.2 per public DMP clients; the others follow the same pattern (verify every
    # interaction and reason code against the GIE guide).
    "TD0.2": ("PRPA_IN201307UV02", "TEST_EXST"),
    "TD0.3": ("PRPA_IN201314UV02", "AJOUT_AUTORISATION"),
    "TD1.1": ("PRPA_IN201311UV02", "CREATION"),
    "TD1.2": ("PRPA_IN201314UV02", "REACTIVATION"),
    "TD1.4": ("PRPA_IN201314UV02", "FERMETURE"),
    "TD1.5": ("PRPA_IN201314UV02", "ACCES_WEB"),
}
"""HL7 v3 interaction id and reason code of each DMP management transaction."""

HL7V3: Final[dict[str, str]] = {
    "its_version": "XML_1.0",
    "interaction_root": "2.16.840.1.113883.1.6",
    "reason_system": "1.2.250.1.213.1.1.4.11",  # (verify)
    "processing_code": "P",
    "processing_mode": "T",
    "accept_ack": "AL",
    "query_response": "PRPA_IN201308UV02",
    "ack_response": "MCCI_IN000002UV01",
    "ack_ok": "AA",
    "ack_error": "AE",
    "query_found": "OK",
    "query_not_found": "NF",
    "gender_system": "2.16.840.1.113883.5.1",
    # attentionLine keywords and administrativeObservation codes of the DMP (verify).
    "kw_authorization": "AUTORISATION",
    "kw_refusal_reason": "MOTIF_INTERDIT",
    "kw_web_identifier": "IDENTIFIANT_ACCES_WEB",
    "kw_web_password": "MOT_DE_PASSE_TEMPORAIRE",
    "obs_web_account": "COMPTE_INTERNET_OUVERT",
    # TD0.2's state of the DMP beyond "found": closed, or the patient opposed its creation
    # (seed 004, Mon espace santé). No public source gives the keyword or its values (verify).
    "kw_dmp_state": "STATUT_DMP",
    "obs_consent_creation": "CONSENTEMENT_CREATION",
    "obs_establishment_access": "AUTORISATION_ETABLISSEMENT",
    "obs_emergency_access": "ACCES_BRIS_DE_GLACE",
    "obs_regulation_access": "ACCES_CENTRE_15",
    "obs_information_date": "DATE_INFORMATION",
    "obs_birth_rank": "RANG_NAISSANCE",
    "obs_closure_reason": "MOTIF_FERMETURE",
}
"""Fixed values of the HL7 v3 wrapper and the DMP's keywords and observation codes."""
