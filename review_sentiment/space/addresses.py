"""Who sent a request, for per-visitor limits only (never stored): an address no sender can choose.

`X-Forwarded-For` is a list each proxy extends: the sender writes whatever it likes, and each proxy appends the
address it saw connect to it (uvicorn's ProxyHeadersMiddleware reads it the same way; nginx's
`$proxy_add_x_forwarded_for`). So the first entry is the sender's to forge (lm-sys/FastChat#3784), and only the
entries a trusted hop appended can be believed: walking from the right, past every trusted hop, the first address
is the one the outermost trusted hop saw, the visitor. With no trusted hop, the header is ignored and the socket's
address counts. (uvicorn, under Gradio, already believes the header from 127.0.0.1, its FORWARDED_ALLOW_IPS default
for a proxy on the same host, and then hands the app the address it found there as the socket's.)

Trusted hops (`TRUSTED_PROXIES`, addresses or networks, comma-separated, or `none`): on a Space (Spaces set
`SPACE_ID`) the app is reached only through the Spaces proxy, from Hugging Face's private network (`request.client` is
an internal 10.x address there, the visitor's address in X-Forwarded-For), so the private, loopback and link-local
ranges are trusted; anywhere else, none (a local server is reached directly). A forged entry always lies left of what
the trusted hop appended, so forging changes nothing.
"""

from __future__ import annotations

import ipaddress
import os

# Where the Spaces proxy and any hop inside Hugging Face's network connect from: never a visitor's public address.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "::1/128",
                    "fc00::/7", "fe80::/10")


class TrustedHops:
    """The proxies whose X-Forwarded-For entries are believed."""

    def __init__(self, spec: str = "none"):
        parts = [p.strip() for p in spec.split(",") if p.strip() and p.strip().lower() != "none"]
        try:
            self.networks = [ipaddress.ip_network(p, strict=False) for p in parts]
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES={spec!r}: {exc}") from None
        self.spec = ",".join(parts) or "none"

    @classmethod
    def default(cls, environ=os.environ) -> "TrustedHops":
        """$TRUSTED_PROXIES, else the private ranges on a Space and none elsewhere."""
        spec = environ.get("TRUSTED_PROXIES") or (",".join(PRIVATE_NETWORKS) if environ.get("SPACE_ID") else "none")
        return cls(spec)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # not an address (a name, garbage a sender wrote): never a trusted hop
            return False
        return any(ip in network for network in self.networks)


def forwarded_chain(headers) -> list[str]:
    """Every X-Forwarded-For entry in order, across repeated headers (a proxy may add a header rather than extend)."""
    values = headers.getlist("x-forwarded-for") if hasattr(headers, "getlist") else [headers.get("x-forwarded-for")]
    return [hop.strip() for value in values if value for hop in value.split(",") if hop.strip()]


def client_address(headers, client, trusted: TrustedHops) -> str:
    """The visitor's address: the socket's, unless it is a trusted hop; then, from the right of X-Forwarded-For, the
    first entry that is not a trusted hop (all trusted: the left-most)."""
    address = client.host if client else ""
    if not trusted.trusts(address):
        return address
    for hop in reversed(forwarded_chain(headers)):
        address = hop
        if not trusted.trusts(hop):
            break
    return address
