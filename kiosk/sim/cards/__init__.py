"""Virtual Vitale and CPE cards over vpcd, a private pcscd, and the card desk that drives them."""

__all__: list[str] = []
