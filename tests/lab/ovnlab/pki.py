"""A small PKI for labs with TLS listeners (Lab(ssl=True)): one CA and one
certificate per host, plus one for the controller's clients, made with
openssl (EC P-256 keys: quick to make, and what OVS's OpenSSL accepts).

OVS checks that a peer's certificate is signed by the CA it is given; it does
not compare host names, so each certificate's CN is only the host's name.
Files live in WORKDIR/pki: `cacert.pem`, and `NAME-privkey.pem` /
`NAME-cert.pem` for every host and for `controller`.
"""

import os
import subprocess

from .waiting import LabError

DAYS = "30"


def _openssl(*args):
    try:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60,
                              check=False)
    except FileNotFoundError as exc:
        raise LabError("openssl not found: install Debian's openssl") from exc
    if done.returncode != 0:
        raise LabError(f"openssl {' '.join(args)} failed: {done.stderr.strip()}")


class LabPki:
    def __init__(self, workdir):
        self.directory = os.path.join(workdir, "pki")
        self.ca_cert = os.path.join(self.directory, "cacert.pem")
        self._ca_key = os.path.join(self.directory, "ca-privkey.pem")

    def files(self, name):
        """(private key, certificate, CA certificate) of one name."""
        return (os.path.join(self.directory, f"{name}-privkey.pem"),
                os.path.join(self.directory, f"{name}-cert.pem"), self.ca_cert)

    def create(self, names):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", self._ca_key, "-out", self.ca_cert, "-days", DAYS,
                 "-subj", "/CN=ovnlab CA")
        for name in names:
            key, cert, _ca = self.files(name)
            request = os.path.join(self.directory, f"{name}.csr")
            _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", key, "-out", request, "-subj", f"/CN={name}")
            _openssl("x509", "-req", "-in", request, "-CA", self.ca_cert, "-CAkey", self._ca_key,
                     "-CAcreateserial", "-out", cert, "-days", DAYS)
            os.unlink(request)

    def install(self, host, directory):
        """Copy a host's key, certificate and the CA into `directory` inside the host (e.g.
        /etc/ovn); returns their paths inside the host."""
        inside = []
        for source, target in zip(self.files(host.name),
                                  ("ovn-privkey.pem", "ovn-cert.pem", "cacert.pem")):
            path_inside = f"{directory}/{target}"
            with open(source, "rb") as src, open(host.path(path_inside), "wb") as dst:
                dst.write(src.read())
            os.chmod(host.path(path_inside), 0o600)
            inside.append(path_inside)
        return tuple(inside)

    def info(self):
        key, cert, ca = self.files("controller")
        return {"private_key": key, "certificate": cert, "ca_cert": ca}
