"""SSH into the lab's hosts: one sshd per host (Debian's openssh-server), each
with a host key of its own and listening on its host's address only, and one
lab key that logs in as root everywhere.

Files, in WORKDIR/ssh: `id_ed25519` (+ `.pub`, the lab key) and `known_hosts`
(every host's key under its address, so clients check them strictly).  Each
host's sshd reads its own files inside the host, in HOST_SSH_DIR (the workdir
may be under /root, which every host has its own of): `sshd_config`,
`ssh_host_ed25519_key` and `authorized_keys`.
"""

import os
import socket
import subprocess

from .waiting import LabError, wait_until

SSHD = "/usr/sbin/sshd"
USER = "root"
HOST_SSH_DIR = "/run/ovnlab-ssh"


def _keygen(path, comment):
    try:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
                       capture_output=True, text=True, check=True, timeout=30)
    except FileNotFoundError as exc:
        raise LabError("ssh-keygen not found: install Debian's openssh-client") from exc
    except subprocess.CalledProcessError as exc:
        raise LabError(f"ssh-keygen {path} failed: {exc.stderr.strip()}") from exc


def _banner(address, timeout=1.0):
    with socket.create_connection((address, 22), timeout=timeout) as connection:
        return connection.recv(64).startswith(b"SSH-")


class LabSsh:
    def __init__(self, workdir):
        self.directory = os.path.join(workdir, "ssh")
        self.private_key = os.path.join(self.directory, "id_ed25519")
        self.known_hosts = os.path.join(self.directory, "known_hosts")

    def info(self):
        return {"user": USER, "private_key_file": self.private_key,
                "known_hosts_file": self.known_hosts,
                "common_args": " ".join(self.options())}

    def options(self):
        return ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                # A host cut off the network is noticed within 6 s, also on a connection that
                # Ansible's ControlPersist keeps open (where ConnectTimeout does not apply).
                "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3"]

    def argv(self, host):
        return ["ssh", "-i", self.private_key, *self.options(), f"{USER}@{host.address}"]

    def create(self, hosts):
        if not os.path.exists(SSHD):
            raise LabError(f"{SSHD} not found: install Debian's openssh-server")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        _keygen(self.private_key, "ovnlab")
        with open(self.private_key + ".pub") as public:
            lab_key = public.read()
        known = []
        for host in hosts:
            directory = host.path(HOST_SSH_DIR)
            os.makedirs(directory, mode=0o700, exist_ok=True)
            _keygen(os.path.join(directory, "ssh_host_ed25519_key"), host.name)
            with open(os.path.join(directory, "ssh_host_ed25519_key.pub")) as public:
                key_type, key = public.read().split()[:2]
            known.append(f"{host.address} {key_type} {key}\n")
            with open(os.path.join(directory, "authorized_keys"), "w") as keys:
                keys.write(lab_key)
            with open(os.path.join(directory, "sshd_config"), "w") as config:
                config.write("\n".join([
                    f"ListenAddress {host.address}",
                    f"HostKey {HOST_SSH_DIR}/ssh_host_ed25519_key",
                    "PermitRootLogin prohibit-password",
                    f"AuthorizedKeysFile {HOST_SSH_DIR}/authorized_keys",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    # The host's /run is a directory of the lab's workdir: sshd's ownership
                    # checks of every parent directory would refuse it.
                    "StrictModes no",
                    "PidFile /run/sshd.pid",
                    "PrintMotd no",
                    "UseDNS no",
                    "MaxStartups 100:30:200",
                    "MaxSessions 100",
                    "Subsystem sftp internal-sftp",
                    "",
                ]))
        with open(self.known_hosts, "w") as known_hosts:
            known_hosts.writelines(known)

    def start_sshd(self, host, env, cwd):
        config = f"{HOST_SSH_DIR}/sshd_config"
        log_file = os.path.join(host.root, "sshd.log")
        process = host.process(f"{host.name}/sshd", [SSHD, "-D", "-e", "-f", config], log_file)
        process.spawn(env, cwd)
        return process

    def wait_ready(self, host, process, timeout):
        wait_until(lambda: _banner(host.address), timeout,
                   f"sshd of {host.name} to answer on {host.address}:22",
                   [process.log_file], [process])
