"""A throw-away TLS identity for the sandbox: a self-signed certificate for ``127.0.0.1`` and
``localhost``, so ``scorebridge sandbox --tls`` serves https and clients can verify it.

Owns: generating the key and certificate with the ``openssl`` command-line tool into a private
(0700) temporary directory, and the server-side :class:`ssl.SSLContext` that serves them. The
certificate is its own CA: its path is the ``ca_bundle`` a client configures.
Must not: import the ``cryptography`` package (not a dependency), write outside its temporary
directory, or be used for anything but the loopback sandbox (the key is never protected).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Subject alternative names the certificate is valid for (the sandbox binds 127.0.0.1).
SUBJECT_ALT_NAMES = "IP:127.0.0.1,DNS:localhost"


class TLSSetupError(OSError):
    """The certificate could not be made (``openssl`` missing or failing)."""


@dataclass
class SandboxTLS:
    """A generated certificate and key; :meth:`cleanup` deletes them."""

    directory: Path
    cert_path: Path  # PEM certificate, usable as a client's CA bundle
    key_path: Path  # PEM private key, mode 0600
    context: ssl.SSLContext  # server-side context loaded with both

    def cleanup(self) -> None:
        """Delete the temporary directory with the key and certificate."""
        shutil.rmtree(self.directory, ignore_errors=True)


def generate_tls(days: int = 2, *, openssl: str = "openssl") -> SandboxTLS:
    """Make a fresh self-signed certificate + key for 127.0.0.1/localhost in a private temp dir.

    Raises:
        TLSSetupError: ``openssl`` is not installed or refused the request.
    """
    executable = shutil.which(openssl)
    if executable is None:
        raise TLSSetupError(f"`{openssl}` not found; install OpenSSL to use --tls")
    directory = Path(tempfile.mkdtemp(prefix="scorebridge-tls-"))  # mode 0700
    cert_path = directory / "sandbox-ca.pem"
    key_path = directory / "sandbox-key.pem"
    command = [
        executable,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        str(days),
        "-subj",
        "/CN=scorebridge sandbox",
        "-addext",
        f"subjectAltName={SUBJECT_ALT_NAMES}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-keyout",
        str(key_path),
        "-out",
        str(cert_path),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise TLSSetupError(f"openssl failed: {result.stderr.strip() or result.returncode}")
        key_path.chmod(0o600)
        cert_path.chmod(0o644)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_path, key_path)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return SandboxTLS(directory, cert_path, key_path, context)
