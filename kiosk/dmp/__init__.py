"""The DMP: its messages (pure lxml builders and readers) and its client.

Messages: ``vihf`` (the SAML assertion of each call), ``hl7v3`` and ``transactions``
(TD0.2, TD0.3, TD1.1, TD1.2, TD1.4, TD1.5), ``cda`` (CDA R2 level 1 around a PDF),
``xds`` (TD2.1, ITI-41 metadata), ``attributes`` (TD3.3, ITI-57), ``cx`` (the INS as
HL7 CX) and ``vocabulary`` (every namespace, OID and code, as data). The simulator
that reads them lives in ``kiosk/sim/dmp/service.py``.
"""

__all__: list[str] = []
