"""A self-signed certificate for 127.0.0.1 and localhost, made once per folder and reused.

Self-hosted API v2 must be served over SSL, so the simulator can too. Clients trust the
certificate by pointing `verify` at `cert.pem` (it is its own CA); with the system's trust
store it fails, as an unknown certificate should.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
_HOSTS = ("localhost",)
_ADDRESSES = ("127.0.0.1", "::1")


def ensure_certificate(folder: str | Path) -> tuple[Path, Path]:
    """Paths of the certificate and key in `folder`, generating them if absent, unusable or expiring."""
    folder = Path(folder)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    if not _usable(cert_path, key_path):
        write_self_signed(cert_path, key_path, [*_HOSTS, *_ADDRESSES],
                          common_name="Issuetrak simulator (127.0.0.1)")
    return cert_path, key_path


def write_self_signed(cert_path: Path, key_path: Path, names: list[str], *, common_name: str = "",
                      ca: bool = False, days: int = 397) -> tuple[Path, Path]:
    """Write a new key and a self-signed certificate for `names` (host names or IP addresses)."""
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    # Key first: a certificate on disk then always has its key beside it.
    _write(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ), mode=0o600)
    certificate = _certificate(key, names, common_name or names[0], ca=ca, days=days)
    _write(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path


def _alt_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _certificate(key: ec.EllipticCurvePrivateKey, names: list[str], common_name: str, *,
                 ca: bool, days: int) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_alt_name(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _usable(cert_path: Path, key_path: Path) -> bool:
    """Both files load and the certificate has more than a day to run."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Write beside, then rename: a simulator starting at the same moment never reads half a file.
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)
