"""The lab, checked through the OVS/OVN command-line tools, iproute2, ssh and
Ansible rather than through the lab's own code: ovs-appctl and ss run inside a
host (nsenter into its namespaces, as `ip netns exec` would), ovsdb-client,
ovn-nbctl and ovn-sbctl connect over the lab's network, ssh logs in with the
lab key."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from ovnlab import Lab, LabError
from ovnlab.addresses import CLAIM_DIR
from ovnlab.waiting import LabTimeout, wait_until

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(LAB_DIR))


def run(*argv, timeout=20):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr or done.stdout}"
    return done.stdout


def host_of(info, name):
    return next(host for host in info["hosts"] if host["name"] == name)


def in_host(info, name, *argv, timeout=20):
    """Run a command inside a lab host: its network, mount and UTS namespaces."""
    host = host_of(info, name)
    return run("nsenter", f"--net=/run/netns/{host['netns']}", f"--mount={host['mount_ns']}",
               f"--uts={host['uts_ns']}", "--", *argv, timeout=timeout)


def ssh(info, name, command, timeout=30):
    host = host_of(info, name)
    return run("ssh", "-i", info["ssh"]["private_key_file"],
               "-o", f"UserKnownHostsFile={info['ssh']['known_hosts_file']}",
               "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
               f"root@{host['address']}", command, timeout=timeout)


def cluster_status(info, member, database):
    """`ovs-appctl cluster/status` of a member, run on its host, as {field: value} plus "Servers"."""
    text = in_host(info, member["host"], "ovs-appctl", "-t", member["host_ctl"], "cluster/status",
                   database)
    fields = dict(re.findall(r"^([A-Z][^:\n]*): (.*)$", text, re.MULTILINE))
    fields["Servers"] = re.findall(r"^\s+\w+ \(\w+ at (\S+)\)", text, re.MULTILINE)
    return fields


def full_server_id(status):
    return re.search(r"\((\S+)\)", status["Server ID"]).group(1)


def server_id_behind(remote, database):
    """The RAFT server id of whichever server answers on `remote` (_Server)."""
    query = json.dumps(["_Server", {"op": "select", "table": "Database",
                                    "where": [["name", "==", database]], "columns": ["sid"]}])
    rows = json.loads(run("ovsdb-client", "query", remote, query))[0]["rows"]
    return rows[0]["sid"][1]


def pid_gone(pid):
    """True once the pid no longer exists (reaped), or is only a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True


def netns_names():
    return set(line.split()[0] for line in run("ip", "netns", "list").splitlines() if line.strip())


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name], capture_output=True,
                          check=False).returncode == 0


def mounts_under(path):
    with open("/proc/self/mountinfo") as mountinfo:
        return [line.split()[4] for line in mountinfo if line.split()[4].startswith(path)]


def silent_client(address, port, results, key, limit):
    """Connect, never answer: record when the server first speaks (its echo
    probe) and when it hangs up, in seconds (None if not within `limit`)."""
    started = time.monotonic()
    first_message = closed = None
    with socket.create_connection((address, port)) as connection:
        connection.settimeout(limit)
        try:
            while True:
                data = connection.recv(4096)
                elapsed = time.monotonic() - started
                if not data:
                    closed = elapsed
                    break
                if first_message is None:
                    first_message = elapsed
        except socket.timeout:
            pass
    results[key] = (first_message, closed)


def silent_clients(targets, limit):
    """Run silent_client against every (address, port) at once."""
    results = {}
    threads = [threading.Thread(target=silent_client, args=(address, port, results,
                                                            (address, port), limit))
               for address, port in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# -- the shared lab ------------------------------------------------------------

@pytest.mark.parametrize("db", ["nb", "sb"])
def test_cluster_has_three_members_and_one_leader(ovn_lab, db):
    lab_info = ovn_lab.info()
    info = lab_info[db]
    statuses = [cluster_status(lab_info, member, info["database"]) for member in info["members"]]
    assert [status["Status"] for status in statuses] == ["cluster member"] * 3
    assert sorted(status["Role"] for status in statuses) == ["follower", "follower", "leader"]
    leader = next(status for status in statuses if status["Role"] == "leader")
    leader_sid = leader["Server ID"].split()[0]
    for member, status in zip(info["members"], statuses):
        assert status["Leader"] in ("self", leader_sid)
        assert sorted(status["Servers"]) == \
            sorted(member["raft"] for member in info["members"])
        assert status["Election timer"] == "1000"
        assert status["Address"] == f"tcp:{member['address']}:{info['raft_port']}"
    assert ovn_lab.leader(db) == statuses.index(leader)


@pytest.mark.parametrize("db", ["nb", "sb"])
def test_each_member_is_a_host_of_its_own(ovn_lab, db):
    lab_info = ovn_lab.info()
    info = lab_info[db]
    block = lab_info["block"][:-len("0/24")]
    ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
    assert len({member["host"] for member in info["members"]}) == 3
    for member in info["members"]:
        assert member["address"].startswith(block) and member["address"].startswith("10.")
        assert info["database"] in run("ovsdb-client", "list-dbs", member["remote"]).split()
        run(ctl_tool, f"--db={member['remote']}", "--no-leader-only", "show")
        # The server answering on the member's address is the member itself.
        assert server_id_behind(member["remote"], info["database"]) == \
            full_server_id(cluster_status(lab_info, member, info["database"]))
        # Its address is on its host's eth0, and that host has no route out of the lab.
        assert f"inet {member['address']}/24" in in_host(lab_info, member["host"], "ip", "-4",
                                                         "-o", "addr", "show", "eth0")
        assert in_host(lab_info, member["host"], "ip", "-4", "route").split()[0] == \
            lab_info["block"]
        assert in_host(lab_info, member["host"], "hostname").strip() == member["host"]


@pytest.mark.parametrize("db", ["nb", "sb"])
def test_listener_is_one_row_on_every_address_of_each_host(ovn_lab, db):
    lab_info = ovn_lab.info()
    info = lab_info[db]
    ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
    global_table = {"nb": "NB_Global", "sb": "SB_Global"}[db]
    target = f"ptcp:{info['port']}:0.0.0.0"
    assert run(ctl_tool, f"--db={info['remotes']}", "--bare", "--columns=target",
               "list", "Connection").split() == [target]
    assert run(ctl_tool, f"--db={info['remotes']}", "--bare", "--columns=inactivity_probe",
               "list", "Connection").split() == []  # no probe asked for: the default applies
    for member in info["members"]:
        remotes = in_host(lab_info, member["host"], "ovs-appctl", "-t", member["host_ctl"],
                          "ovsdb-server/list-remotes").split()
        assert f"db:{info['database']},{global_table},connections" in remotes
        assert not any(remote.startswith("ptcp:") for remote in remotes)
        # In its own network namespace the member listens on 0.0.0.0, as on a real host.
        listeners = in_host(lab_info, member["host"], "ss", "-Hltnp", f"sport = :{info['port']}")
        assert f"0.0.0.0:{info['port']}" in listeners
        assert f"pid={member['pid']}," in listeners, listeners


def test_control_sockets_exist_only_inside_their_host(ovn_lab):
    info = ovn_lab.info()
    member = info["nb"]["members"][1]
    other = info["nb"]["members"][2]
    chassis = info["chassis"][0]
    for path in ("/run/ovn/ovnnb_db.ctl", "/run/ovn/ovnsb_db.ctl", "/run/openvswitch/db.sock"):
        assert not os.path.exists(path), f"{path} is visible on the controller"
    in_host(info, member["host"], "test", "-S", "/run/ovn/ovnnb_db.ctl")
    in_host(info, member["host"], "test", "-S", "/run/ovn/ovnsb_db.ctl")
    in_host(info, chassis["host"], "test", "-S", "/run/openvswitch/db.sock")
    in_host(info, chassis["host"], "test", "!", "-e", "/run/ovn/ovnnb_db.ctl")
    # Each host's control socket is its own server: the server ids differ.
    assert cluster_status(info, member, "OVN_Northbound")["Server ID"] != \
        cluster_status(info, other, "OVN_Northbound")["Server ID"]
    # The standard paths of the daemons, inside the host.
    assert in_host(info, member["host"], "cat", "/run/ovn/ovnnb_db.pid").strip() == \
        str(member["pid"])
    in_host(info, member["host"], "test", "-s", "/var/log/ovn/ovsdb-server-nb.log")
    in_host(info, member["host"], "test", "-s", "/var/lib/ovn/ovnnb_db.db")
    assert "ovn-controller" in in_host(info, chassis["host"], "ovn-appctl", "-t",
                                       "ovn-controller", "version")


def test_ssh_and_python_ovs_on_every_host(ovn_lab):
    info = ovn_lab.info()
    assert len(info["hosts"]) == 4  # 3 central, 1 chassis
    for host in info["hosts"]:
        out = ssh(info, host["name"], "hostname; ip -4 -o addr show eth0; "
                  "python3 -c 'import ovs, ovs.db.idl; print(ovs.__file__)'")
        hostname, address_line, ovs_file = out.strip().splitlines()
        assert hostname == host["name"]
        assert f"inet {host['address']}/24" in address_line
        assert ovs_file.startswith("/usr/lib/python3/dist-packages/ovs/")
    # Only the lab key gets in: another key is refused.
    stranger = subprocess.run(
        ["ssh", "-i", "/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={info['ssh']['known_hosts_file']}",
         f"root@{info['hosts'][0]['address']}", "true"],
        capture_output=True, text=True, timeout=30, check=False)
    assert stranger.returncode == 255 and "Permission denied" in stranger.stderr


def test_northd_and_chassis_are_up(ovn_lab):
    info = ovn_lab.info()
    assert info["northd"]["host"] == info["nb"]["members"][0]["host"]
    assert "Status: active" in in_host(info, info["northd"]["host"], "ovn-appctl", "-t",
                                       "ovn-northd", "status")
    chassis = info["chassis"][0]
    sb = info["sb"]["remotes"]
    assert run("ovn-sbctl", f"--db={sb}", "--bare", "--columns=name,hostname",
               "list", "Chassis").split() == [chassis["name"], chassis["host"]]
    assert run("ovn-sbctl", f"--db={sb}", "--bare", "--columns=type,ip",
               "list", "Encap").split() == ["geneve", chassis["encap_ip"]]
    external_ids = in_host(info, chassis["host"], "ovs-vsctl", "get", "Open_vSwitch", ".",
                           "external_ids")
    assert f'ovn-remote="{sb}"' in external_ids
    assert "ovn-remote-probe-interval" not in external_ids
    assert in_host(info, chassis["host"], "ovn-appctl", "-t", "ovn-controller",
                   "connection-status").strip() == "connected"
    # ovs-vswitchd runs br-int in the userspace datapath; ovn-controller installs its flows there and
    # acknowledges nb_cfg, so --wait=hv returns.
    assert in_host(info, chassis["host"], "ovs-vsctl", "--no-wait", "get", "Bridge", "br-int",
                   "datapath_type").strip() == "netdev"
    run("ovn-nbctl", f"--db={info['nb']['remotes']}", "--timeout=30", "--wait=hv", "sync", timeout=40)
    nb_cfg = run("ovn-nbctl", f"--db={info['nb']['remotes']}", "get", "NB_Global", ".", "nb_cfg").strip()
    assert run("ovn-sbctl", f"--db={sb}", "--bare", "--columns=nb_cfg", "find", "Chassis_Private",
               f"name={chassis['name']}").strip() == nb_cfg


def test_chassis_with_only_their_database(lab_factory):
    lab = lab_factory(members=1, chassis=3, chassis_daemons=False)
    info = lab.info()
    assert info["chassis_daemons"] is False
    for chassis in info["chassis"]:
        assert chassis["controller_pid"] is None and chassis["vswitchd_pid"] is None
        assert "system-id=" + chassis["name"] in in_host(info, chassis["host"], "ovs-vsctl", "--no-wait", "get",
                                                         "Open_vSwitch", ".", "external_ids").replace('"', "")
    assert run("ovn-sbctl", f"--db={info['sb']['remotes']}", "--bare", "--columns=name", "list", "Chassis").strip() == ""


def test_pause_and_resume_a_follower(ovn_lab):
    nb = ovn_lab.info()["nb"]
    follower = (ovn_lab.leader("nb") + 1) % 3
    pid = nb["members"][follower]["pid"]
    # A paused server still accepts TCP connections (the kernel does) but
    # never answers: a client would wait for its own probe on that remote.
    others = ",".join(member["remote"] for index, member in enumerate(nb["members"])
                      if index != follower)
    ovn_lab.pause("nb", follower)
    try:
        assert run("ps", "-o", "stat=", "-p", str(pid)).strip().startswith("T")
        # The other two still form a majority and accept writes.
        run("ovn-nbctl", f"--db={others}", "set", "NB_Global", ".",
            "external_ids:ovnlab-test=paused")
    finally:
        ovn_lab.resume("nb", follower)
        run("ovn-nbctl", f"--db={nb['remotes']}", "remove", "NB_Global", ".",
            "external_ids", "ovnlab-test")
    assert not run("ps", "-o", "stat=", "-p", str(pid)).strip().startswith("T")
    with pytest.raises(LabError):
        ovn_lab.pause_process(1)  # not a lab process


# -- private labs ----------------------------------------------------------------

def test_row_inactivity_probe_applies_to_every_member_listener(lab_factory):
    lab = lab_factory(databases=("nb",), inactivity_probe_ms=1000)
    nb = lab.info()["nb"]
    targets = [(member["address"], nb["port"]) for member in nb["members"]]
    # A silent client gets the server's echo after 1 s and is dropped 1 s later.
    for first_message, closed in silent_clients(targets, limit=6).values():
        assert 0.8 <= first_message <= 1.6 and 1.7 <= closed <= 3.5, (first_message, closed)

    # A change of the row applies to every member's listener at once.
    run("ovn-nbctl", f"--db={nb['remotes']}", "set", "Connection", ".", "inactivity_probe=2500")
    for first_message, _closed in silent_clients(targets, limit=3.5).values():
        assert 2.3 <= first_message <= 3.3, first_message


def test_partitioned_follower_is_seen_by_the_cluster_and_rejoins(lab_factory):
    lab = lab_factory(databases=("nb",))
    info = lab.info()
    nb = info["nb"]
    leader = lab.leader("nb")
    follower = (leader + 1) % 3
    cut_off = nb["members"][follower]
    leader_member = nb["members"][leader]

    def disconnections():
        return int(cluster_status(info, leader_member, "OVN_Northbound")["Disconnections"])

    before = disconnections()
    lab.partition(cut_off["host"])
    try:
        bridge_port = "p" + host_of(info, cut_off["host"])["netns"].rsplit("-", 1)[1]
        assert "state DOWN" in run("ip", "-n", info["network"]["bridge_netns"], "-o", "link",
                                   "show", bridge_port)
        # The controller cannot reach it; the other two still form a majority and commit.
        with pytest.raises(OSError):
            socket.create_connection((cut_off["address"], nb["port"]), timeout=1.5).close()
        majority = ",".join(m["remote"] for m in nb["members"] if m is not cut_off)
        run("ovn-nbctl", f"--db={majority}", "ls-add", "sw-during-partition")
        # The leader notices: its RAFT connection to the follower is dropped.
        wait_until(lambda: disconnections() > before, 15, "the leader to count a disconnection")
        # The cut-off follower has not seen the write, and knows it is not connected.
        assert "sw-during-partition" not in in_host(
            info, cut_off["host"], "ovsdb-client", "dump", cut_off["host_unix"], "OVN_Northbound",
            "Logical_Switch", "name")
        wait_until(lambda: '"connected":false' in in_host(
            info, cut_off["host"], "ovsdb-client", "query", cut_off["host_unix"], json.dumps(
                ["_Server", {"op": "select", "table": "Database",
                             "where": [["name", "==", "OVN_Northbound"]],
                             "columns": ["connected"]}])).replace(" ", ""),
            15, "the cut-off follower to see it is disconnected")
    finally:
        lab.heal(cut_off["host"])

    # Back on the network it rejoins and catches up.
    def caught_up():
        done = subprocess.run(["ovn-nbctl", f"--db={cut_off['remote']}", "--no-leader-only",
                               "ls-list"], capture_output=True, text=True, timeout=20, check=False)
        return done.returncode == 0 and "sw-during-partition" in done.stdout

    wait_until(caught_up, 30, "the healed follower to catch up")

    # Back with a higher term (its elections while cut off), it may make the others elect again;
    # its log is behind, so it never wins: it follows whichever member leads now.
    def follows_the_leader():
        status = cluster_status(info, cut_off, "OVN_Northbound")
        now_leading = nb["members"][lab.leader("nb")]
        return (status["Status"] == "cluster member" and status["Role"] == "follower"
                and status["Leader"] == cluster_status(info, now_leading,
                                                       "OVN_Northbound")["Server ID"].split()[0])

    wait_until(follows_the_leader, 30, "the healed member to follow the current leader")


def test_cpu_starvation_limits_the_host_processes(lab_factory):
    lab = lab_factory(databases=("nb",))
    info = lab.info()
    member = info["nb"]["members"][1]
    host = host_of(info, member["host"])
    with open(f"/proc/{member['pid']}/cgroup") as cgroups:
        cpu_path = next(line.split(":")[2].strip() for line in cgroups
                        if line.split(":")[1].split(",")[0] in ("cpu", "cpuacct,cpu")
                        or "cpu" in line.split(":")[1].split(","))
    cgroup_dir = "/sys/fs/cgroup/cpu" + cpu_path
    assert cpu_path.endswith("/" + host["netns"].rsplit("-", 1)[1]), cpu_path
    lab.starve(member["host"], 10)
    try:
        with open(os.path.join(cgroup_dir, "cpu.cfs_quota_us")) as quota:
            assert int(quota.read()) == 10000
        # A busy loop started over SSH (sshd is in the host's cgroup) gets at most ~10 % of a core.
        used = float(ssh(info, member["host"], "python3 -c 'import os, time\n"
                         "t = time.time()\nwhile time.time() - t < 1.5: pass\n"
                         "print(sum(os.times()[:2]))'"))
        assert used <= 0.4, used
        with open(os.path.join(cgroup_dir, "cpu.stat")) as stat:
            assert int(dict(line.split() for line in stat)["nr_throttled"]) > 0
    finally:
        lab.feed(member["host"])
    with open(os.path.join(cgroup_dir, "cpu.cfs_quota_us")) as quota:
        assert int(quota.read()) == -1


def test_kill_and_restart_the_leader(lab_factory):
    lab = lab_factory(databases=("nb",))
    info = lab.info()
    nb = info["nb"]
    old = lab.leader("nb")
    old_member = nb["members"][old]
    old_sid = full_server_id(cluster_status(info, old_member, "OVN_Northbound"))

    lab.kill("nb", old)
    assert pid_gone(old_member["pid"])
    # Nobody serves the dead member's address: its host refuses the connection.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((old_member["address"], nb["port"]), timeout=2).close()
    new = lab.leader("nb")
    assert new != old
    survivors = [member for member in nb["members"] if member is not old_member]
    assert {cluster_status(info, member, "OVN_Northbound")["Role"] for member in survivors} == \
        {"leader", "follower"}

    lab.restart("nb", old)
    restarted = lab.member("nb", old)
    assert restarted["pid"] != old_member["pid"]
    status = cluster_status(info, restarted, "OVN_Northbound")
    assert status["Status"] == "cluster member"
    assert status["Role"] == "follower"
    assert status["Leader"] == cluster_status(info, nb["members"][new], "OVN_Northbound")[
        "Server ID"].split()[0]
    assert full_server_id(status) == old_sid  # same server, from its own db file
    assert server_id_behind(restarted["remote"], "OVN_Northbound") == old_sid
    # It serves reads and forwards writes again.
    run("ovn-nbctl", f"--db={restarted['remote']}", "--no-leader-only", "ls-add", "sw-after")
    assert "sw-after" in run("ovn-nbctl", f"--db={nb['remotes']}", "ls-list")


def test_restart_after_a_crash(lab_factory):
    lab = lab_factory(databases=("nb",))
    info = lab.info()
    crashed = info["nb"]["members"][2]
    os.kill(crashed["pid"], signal.SIGKILL)  # not through the lab
    wait_until(lambda: pid_gone(crashed["pid"]), 10, "the crashed member to exit")
    lab.restart("nb", 2)
    for index in range(3):
        member = lab.member("nb", index)
        assert server_id_behind(member["remote"], "OVN_Northbound") == \
            full_server_id(cluster_status(info, member, "OVN_Northbound"))


def test_election_timer_is_raised_in_steps(lab_factory):
    lab = lab_factory(databases=("nb",), election_timer_ms=5000)
    info = lab.info()
    for member in info["nb"]["members"]:
        assert cluster_status(info, member, "OVN_Northbound")["Election timer"] == "5000"


def test_kube_ovn_layout(lab_factory):
    lab = lab_factory(kube_ovn=True, inactivity_probe_ms=1000, northd_probe_ms=7000)
    info = lab.info()
    assert info["kube_ovn"] is True
    for db in ("nb", "sb"):
        spec = info[db]
        for member in spec["members"]:
            remotes = in_host(info, member["host"], "ovs-appctl", "-t", member["host_ctl"],
                              "ovsdb-server/list-remotes").split()
            assert "db:Local_Config,Config,connections" in remotes
            assert f"ptcp:{spec['extra_port']}:0.0.0.0" in remotes
            assert not any(remote.startswith(f"ptcp:{spec['port']}") for remote in remotes)
            dump = run("ovsdb-client", "-f", "json", "dump", member["remote"], "Local_Config",
                       "Connection")
            rows = json.loads(dump)["data"]
            assert len(rows) == 1 and f"ptcp:{spec['port']}:0.0.0.0" in rows[0]
        # The NB/SB Connection rows are not what the servers use here: none exist.
        ctl_tool = {"nb": "ovn-nbctl", "sb": "ovn-sbctl"}[db]
        assert run(ctl_tool, f"--db={spec['remotes']}", "--bare", "--columns=target",
                   "list", "Connection").strip() == ""
    assert run("ovn-nbctl", f"--db={info['nb']['remotes']}", "get", "NB_Global", ".",
               "options:northd_probe_interval").strip() == '"7000"'

    # The Local_Config row's probe applies to its listener; the command-line
    # listener keeps the server default (5 s): after 2.5 s it has not probed.
    member = info["nb"]["members"][0]
    results = silent_clients([(member["address"], 6641), (member["address"], 6651)], limit=2.5)
    first_message, closed = results[(member["address"], 6641)]
    assert first_message <= 1.6 and closed <= 3.0, results
    assert results[(member["address"], 6651)] == (None, None), results

    leader = lab.leader("nb")
    lab.kill("nb", leader)
    lab.restart("nb", leader)
    assert server_id_behind(info["nb"]["members"][leader]["remote"], "OVN_Northbound") == \
        full_server_id(cluster_status(info, info["nb"]["members"][leader], "OVN_Northbound"))


def test_labs_get_distinct_blocks_and_remove_everything_they_made(lab_factory):
    first = lab_factory(databases=("nb",), members=1)
    second = lab_factory(databases=("nb",), members=1)
    infos = [first.info(), second.info()]
    assert infos[0]["block"] != infos[1]["block"]
    claims = [os.path.join(CLAIM_DIR, info["block"][:-len(".0/24")]) for info in infos]
    assert all(os.path.exists(claim) for claim in claims)
    namespaces = {host["netns"] for info in infos for host in info["hosts"]}
    namespaces |= {info["network"]["bridge_netns"] for info in infos}
    assert namespaces <= netns_names()
    # The root namespace has one link per lab, with the lab's /24 on it.
    for info in infos:
        assert f"{info['network']['controller_address']}/24" in run(
            "ip", "-4", "-o", "addr", "show", info["network"]["controller_link"])
    first.stop()
    second.stop()
    assert not any(os.path.exists(claim) for claim in claims)
    assert not namespaces & netns_names()
    assert not any(link_exists(info["network"]["controller_link"]) for info in infos)
    assert not any(mounts_under(info["workdir"]) for info in infos)


def test_stop_leaves_no_process_and_no_workdir():
    lab = Lab(northd=True, chassis=1, name="stop-test")
    lab.start()
    info = lab.info()
    pids = [member["pid"] for db in ("nb", "sb") for member in info[db]["members"]]
    pids += [info["northd"]["pid"], info["chassis"][0]["ovsdb_pid"],
             info["chassis"][0]["controller_pid"]]
    lab.pause("sb", 0)  # a paused process must be stopped too
    lab.partition(info["hosts"][1]["name"])  # and a partitioned host removed
    lab.stop()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), f"pid {pid} left behind"
    assert not os.path.exists(info["workdir"])
    assert not {host["netns"] for host in info["hosts"]} & netns_names()
    assert not mounts_under(info["workdir"])
    assert not os.path.exists("/sys/fs/cgroup/cpu/ovnlab-" + info["network"]["controller_link"][3:])
    lab.stop()  # idempotent


def test_readiness_failure_names_the_condition_and_shows_the_log(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("first line\nlisten failed: Address already in use\n")
    with pytest.raises(LabTimeout) as failure:
        wait_until(lambda: False, 0.2, "the impossible", [str(log)])
    message = str(failure.value)
    assert "the impossible" in message and "Address already in use" in message


def test_failed_start_shows_the_log_and_cleans_up(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ovn-controller"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'ovn-controller: simulated failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    lab = Lab(chassis=1, name="failing")
    with pytest.raises(LabError) as failure:
        lab.start()
    message = str(failure.value)
    assert "chassis-1/controller" in message and "simulated failure" in message
    info = lab.info()
    for member in info["nb"]["members"] + info["sb"]["members"]:
        assert not os.path.exists(f"/proc/{member['pid']}")
    assert not os.path.exists(info["workdir"])


def test_invalid_arguments_fail_before_anything_starts():
    for kwargs in ({"members": 0}, {"databases": ("nb", "xx")}, {"northd": True, "databases": ("nb",)},
                   {"election_timer_ms": 50}, {"inactivity_probe_ms": -1},
                   {"chassis": 1, "databases": ("nb",)}, {"chassis": 151}, {"chassis": 1, "chassis_daemons": "no"}):
        with pytest.raises(LabError):
            Lab(**kwargs)


def test_cli_start_status_inventory_stop(tmp_path):
    state_dir = str(tmp_path / "lab")
    env = dict(os.environ, PYTHONPATH=LAB_DIR)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "ovnlab", *args, "--state-dir", state_dir],
                              capture_output=True, text=True, env=env, timeout=120, check=False)

    started = cli("start", "--name", "clilab", "--chassis", "2", "--northd",
                  "--inactivity-probe", "4000", "--chassis-probe", "9000")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    assert info["owner_pid"] != os.getpid()  # a keeper runs the lab, not the CLI
    nb = info["nb"]["remotes"]
    assert run("ovn-nbctl", f"--db={nb}", "--bare", "--columns=inactivity_probe", "list",
               "Connection").split() == ["4000"]
    assert in_host(info, info["chassis"][0]["host"], "ovs-vsctl", "get", "Open_vSwitch", ".",
                   "external_ids:ovn-remote-probe-interval").strip() == '"9000"'

    status = cli("status")
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)
    assert described["owner_state"] == "running"
    assert [m["state"] for m in described["nb"]["members"] + described["sb"]["members"]] == \
        ["running"] * 6
    assert described["northd"]["state"] == "running"
    assert described["chassis"][0]["controller_state"] == "running"
    assert [host["sshd_state"] for host in described["hosts"]] == ["running"] * 5

    # The inventory lets Ansible manage every host over SSH, with Debian's python3 and ovs.
    listed = cli("inventory")
    assert listed.returncode == 0, listed.stderr
    inventory_file = tmp_path / "inventory.yml"
    inventory_file.write_text(listed.stdout)
    groups = json.loads(listed.stdout)["all"]["children"]["clilab"]["children"]
    assert sorted(groups["clilab_central"]["hosts"]) == [f"clilab-central-{n}" for n in (1, 2, 3)]
    assert sorted(groups["clilab_chassis"]["hosts"]) == ["clilab-chassis-1", "clilab-chassis-2"]
    ansible = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "all", "-i", str(inventory_file),
         "-m", "ansible.builtin.command", "-a", "python3 -c 'import ovs, socket; print(socket.gethostname())'",
         "-o"], capture_output=True, text=True, timeout=180, check=False,
        env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_FORCE_COLOR="0"))
    assert ansible.returncode == 0, ansible.stdout + ansible.stderr
    for name in [f"clilab-central-{n}" for n in (1, 2, 3)] + ["clilab-chassis-1", "clilab-chassis-2"]:
        assert re.search(rf"^{name} \| CHANGED \| rc=0 \| \(stdout\) {name}$", ansible.stdout, re.M), \
            ansible.stdout

    stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["survivors"] == []
    pids = [m["pid"] for m in info["nb"]["members"] + info["sb"]["members"]]
    pids += [info["northd"]["pid"], info["chassis"][0]["ovsdb_pid"],
             info["chassis"][0]["controller_pid"]]
    assert all(pid_gone(pid) for pid in pids)
    assert not os.path.exists(state_dir)
    assert not {host["netns"] for host in info["hosts"]} & netns_names()
    assert cli("status").returncode == 2


def test_next_start_removes_what_a_crashed_run_left(tmp_path):
    state_dir = str(tmp_path / "crashed")
    env = dict(os.environ, PYTHONPATH=LAB_DIR)
    started = subprocess.run([sys.executable, "-m", "ovnlab", "start", "--state-dir", state_dir,
                              "--members", "1"], capture_output=True, text=True, env=env,
                             timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    # The keeper dies without cleaning up; its servers die with it (PR_SET_PDEATHSIG).
    os.kill(info["owner_pid"], signal.SIGKILL)
    wait_until(lambda: all(pid_gone(m["pid"]) for m in info["nb"]["members"]), 10,
               "the servers to die with their keeper")
    left = {host["netns"] for host in info["hosts"]} | {info["network"]["bridge_netns"]}
    assert left <= netns_names()
    claim = os.path.join(CLAIM_DIR, info["block"][:-len(".0/24")])
    assert os.path.exists(claim)
    with Lab(databases=("nb",), members=1, name="after-crash"):
        assert not left & netns_names()
        assert not os.path.exists(claim)
        assert not link_exists(info["network"]["controller_link"])
        assert not mounts_under(os.path.join(state_dir, "ns"))


def test_ssl_listeners_raft_and_clients(lab_factory):
    lab = lab_factory(name="tls", northd=True, chassis=1, ssl=True)
    info = lab.info()
    tls = info["ssl"]
    client = ["-p", tls["private_key"], "-c", tls["certificate"], "-C", tls["ca_cert"]]
    nb, sb = info["nb"], info["sb"]
    assert nb["remotes"].startswith("ssl:") and sb["remotes"].startswith("ssl:")
    assert run("ovn-nbctl", *client, f"--db={nb['remotes']}", "--bare", "--columns=target",
               "list", "Connection").split() == ["pssl:6641:0.0.0.0"]
    for db in ("nb", "sb"):
        for member in info[db]["members"]:
            status = cluster_status(info, member, info[db]["database"])
            assert status["Address"].startswith("ssl:") and status["Status"] == "cluster member"
            assert all(server.startswith("ssl:") for server in status["Servers"])
    # ovn-northd and the chassis' ovn-controller talk TLS: the chassis is registered.
    assert run("ovn-sbctl", *client, f"--db={sb['remotes']}", "--bare", "--columns=name",
               "list", "Chassis").split() == ["chassis-1"]
    assert in_host(info, info["chassis"][0]["host"], "ovn-appctl", "-t", "ovn-controller",
                   "connection-status").strip() == "connected"
    assert "Status: active" in in_host(info, info["northd"]["host"], "ovn-appctl", "-t",
                                       "ovn-northd", "status")
    # A client without a certificate from the lab's CA gets nothing.
    stranger = subprocess.run(["ovsdb-client", "--timeout=5", "-p", tls["private_key"],
                               "-c", tls["certificate"], "-C", "/etc/ssl/certs/ca-certificates.crt",
                               "list-dbs", nb["members"][0]["remote"]],
                              capture_output=True, text=True, timeout=30, check=False)
    assert stranger.returncode != 0
    plain = subprocess.run(["ovsdb-client", "--timeout=5", "list-dbs",
                            nb["members"][0]["remote"].replace("ssl:", "tcp:", 1)],
                           capture_output=True, text=True, timeout=30, check=False)
    assert plain.returncode != 0  # the listener speaks TLS only


def test_a_workdir_under_the_home_directory():
    """Every host has its own /root: a lab kept under ~ (as the lab playbook's default state dir
    is) still starts its sshd, whose files are inside the host."""
    workdir = os.path.join(os.path.expanduser("~"), ".cache", "ovnlab-test-%d" % os.getpid())
    with Lab(workdir=workdir, databases=("nb",), members=1, name="home") as lab:
        info = lab.info()
        assert ssh(info, info["hosts"][0]["name"], "hostname").strip() == "home-central-1"
    assert not os.path.exists(workdir)


def test_sb_relay_serves_the_chassis(lab_factory):
    lab = lab_factory(name="relay", northd=True, chassis=1, sb_relays=1)
    info = lab.info()
    (relay,) = info["sb_relays"]
    assert host_of(info, relay["host"])["kind"] == "relay"
    assert info["sb_relay_remotes"] == relay["remote"] == f"tcp:{relay['address']}:6642"
    # A relay: its own host, its database relayed from the cluster, listening on 0.0.0.0.
    query = json.dumps(["_Server", {"op": "select", "table": "Database",
                                    "where": [["name", "==", "OVN_Southbound"]],
                                    "columns": ["model", "connected"]}])
    row = json.loads(run("ovsdb-client", "query", relay["remote"], query))[0]["rows"][0]
    assert row == {"model": "relay", "connected": True}
    assert "0.0.0.0:6642" in in_host(info, relay["host"], "ss", "-Hltn", "sport = :6642")
    # The chassis talks to the relay, not to the cluster members, and is registered through it.
    chassis = info["chassis"][0]
    assert in_host(info, chassis["host"], "ovs-vsctl", "get", "Open_vSwitch", ".",
                   "external_ids:ovn-remote").strip() == f'"{relay["remote"]}"'
    connections = in_host(info, chassis["host"], "ss", "-Htn", "state", "established",
                          "dport = :6642")
    assert relay["address"] + ":6642" in connections
    assert not any(m["address"] + ":6642" in connections for m in info["sb"]["members"])
    assert run("ovn-sbctl", f"--db={relay['remote']}", "--no-leader-only", "--bare",
               "--columns=name", "list", "Chassis").split() == ["chassis-1"]
    # A write through the relay is forwarded to the cluster.
    run("ovn-sbctl", f"--db={relay['remote']}", "--no-leader-only", "set", "SB_Global", ".",
        "external_ids:through=relay")
    assert run("ovn-sbctl", f"--db={info['sb']['remotes']}", "get", "SB_Global", ".",
               "external_ids:through").strip() == "relay"
