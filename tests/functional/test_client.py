"""The OVSDB client against real ovsdb-server clusters of the lab.

Outcomes are read back through an independent path: ovs-appctl (who leads) and ovn-nbctl (what was
written).
"""

import time

import pytest

from support import oracle

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import cluster_status
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_base as base
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_client as client
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import ovsdb_rpc as rpc

TABLES = {"NB_Global": ["external_ids", "options", "connections"],
          "Connection": ["target", "inactivity_probe"]}


def leader_address(lab, db="nb"):
    return lab.info()[db]["members"][lab.leader(db)]["remote"]


def test_leader_only_connects_to_the_leader_and_commits(ovn_lab):
    nb = ovn_lab.info()["nb"]
    with client.OvsdbClient(nb["remotes"], "OVN_Northbound", TABLES, timeout=15) as conn:
        assert conn.remote == leader_address(ovn_lab)
        assert conn.server_row["leader"] is True and conn.server_row["model"] == "clustered"

        def build(txn, c):
            c.rows("NB_Global")[0].setkey("external_ids", "kubedc-client-test", "leader-write")
            return True

        conn.transact(build, comment="kubedc.ovn_tuning client test")
        assert conn.rows("NB_Global")[0].external_ids["kubedc-client-test"] == "leader-write"
    assert oracle.nbctl(nb["remotes"], "get", "NB_Global", ".", "external_ids:kubedc-client-test") == 'leader-write'
    oracle.nbctl(nb["remotes"], "remove", "NB_Global", ".", "external_ids", "kubedc-client-test")


def test_non_leader_members_are_skipped_with_a_reason(ovn_lab):
    info = ovn_lab.info()["nb"]
    followers = [m["remote"] for i, m in enumerate(info["members"]) if i != ovn_lab.leader("nb")]
    with pytest.raises(base.OvsdbConnectionError) as caught:
        client.OvsdbClient(",".join(followers), "OVN_Northbound", TABLES, timeout=2,
                           backoff=base.Backoff(0.2, maximum=0.5)).connect()
    message = str(caught.value)
    for remote in followers:
        assert remote in message
    assert "not the cluster leader" in message
    # Followers are fine when leader_only is off.
    with client.OvsdbClient(followers[0], "OVN_Northbound", TABLES, timeout=5, leader_only=False) as conn:
        assert conn.remote == followers[0]


def test_only_registered_columns_are_monitored(ovn_lab):
    with client.OvsdbClient(ovn_lab.info()["nb"]["remotes"], "OVN_Northbound",
                            {"Connection": ["target", "inactivity_probe"]}, timeout=10) as conn:
        assert conn.monitored() == {"Connection": ["inactivity_probe", "target"]}


def test_leader_killed_next_operation_succeeds_on_the_new_leader(lab_factory):
    lab = lab_factory(databases=("nb",), election_timer_ms=1000)
    nb = lab.info()["nb"]
    old_leader = lab.leader("nb")
    old_remote = nb["members"][old_leader]["remote"]
    conn = client.OvsdbClient(nb["remotes"], "OVN_Northbound", TABLES, timeout=20,
                              backoff=base.Backoff(0.2, maximum=2.0))
    conn.connect()
    lab.kill("nb", old_leader)
    killed_at = time.monotonic()

    def build(txn, c):
        c.rows("NB_Global")[0].setkey("external_ids", "after-failover", "yes")
        return True

    conn.transact(build)
    elapsed = time.monotonic() - killed_at
    assert conn.remote != old_remote
    assert elapsed < 1.0 + 3.0, "commit on the new leader took %.1f s" % elapsed
    conn.close()
    survivors = ",".join(m["remote"] for i, m in enumerate(nb["members"]) if i != old_leader)
    assert oracle.nbctl(survivors, "--no-leader-only", "get", "NB_Global", ".",
                        "external_ids:after-failover") == 'yes'


def test_stopped_server_fails_within_the_timeout(lab_factory):
    lab = lab_factory(databases=("nb",))
    nb = lab.info()["nb"]
    leader = lab.leader("nb")
    remote = nb["members"][leader]["remote"]
    lab.pause("nb", leader)
    try:
        started = time.monotonic()
        with pytest.raises(base.OvsdbConnectionError) as caught:
            client.OvsdbClient(remote, "OVN_Northbound", TABLES, timeout=3).connect()
        elapsed = time.monotonic() - started
    finally:
        lab.resume("nb", leader)
    assert 2.0 <= elapsed <= 4.0, elapsed
    assert remote in str(caught.value)
    assert "3.0 s" in str(caught.value)


def test_stopped_server_during_a_transaction_fails_within_the_timeout(lab_factory):
    lab = lab_factory(databases=("nb",))
    nb = lab.info()["nb"]
    leader = lab.leader("nb")
    remote = nb["members"][leader]["remote"]
    conn = client.OvsdbClient(remote, "OVN_Northbound", TABLES, timeout=3)
    conn.connect()
    lab.pause("nb", leader)
    try:
        started = time.monotonic()

        def build(txn, c):
            c.rows("NB_Global")[0].setkey("external_ids", "never", "committed")
            return True

        with pytest.raises(base.OvsdbError) as caught:
            conn.transact(build, deadline=base.Deadline(3, "transaction"))
        elapsed = time.monotonic() - started
    finally:
        lab.resume("nb", leader)
        conn.close()
    assert elapsed <= 4.0, elapsed
    assert remote in str(caught.value)


def test_unreachable_remotes_fail_within_the_timeout_and_are_named():
    # Loopback addresses nothing listens on: connections are refused at once, so the client
    # keeps retrying with backoff until its deadline.
    remotes = "tcp:127.250.250.1:6641,tcp:127.250.250.2:6641"
    started = time.monotonic()
    with pytest.raises(base.OvsdbConnectionError) as caught:
        client.OvsdbClient(remotes, "OVN_Northbound", TABLES, timeout=2.5,
                           backoff=base.Backoff(0.2, maximum=1.0)).connect()
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed <= 3.5, elapsed
    message = str(caught.value)
    assert "tcp:127.250.250.1:6641" in message and "tcp:127.250.250.2:6641" in message
    assert "Connection refused" in message


def test_concurrent_writer_between_read_and_commit_is_not_lost(ovn_lab):
    nb = ovn_lab.info()["nb"]
    oracle.nbctl(nb["remotes"], "remove", "NB_Global", ".", "external_ids", "ours", "--",
                 "remove", "NB_Global", ".", "external_ids", "theirs")
    calls = []

    def build(txn, c):
        row = c.rows("NB_Global")[0]
        # A whole-map rewrite guarded by verify: only safe because verify makes a concurrent
        # change turn the commit into TRY_AGAIN.
        row.verify("external_ids")
        updated = dict(row.external_ids)
        updated["ours"] = "1"
        if not calls:
            oracle.nbctl(nb["remotes"], "set", "NB_Global", ".", "external_ids:theirs=2")
        calls.append(dict(row.external_ids))
        row.external_ids = updated
        return True

    with client.OvsdbClient(nb["remotes"], "OVN_Northbound", TABLES, timeout=15) as conn:
        conn.transact(build)
    assert len(calls) == 2, calls
    assert "theirs" in calls[1]
    ids = oracle.nbctl(nb["remotes"], "get", "NB_Global", ".", "external_ids")
    assert 'ours="1"' in ids and 'theirs="2"' in ids
    oracle.nbctl(nb["remotes"], "remove", "NB_Global", ".", "external_ids", "ours", "--",
                 "remove", "NB_Global", ".", "external_ids", "theirs")


def test_unixctl_has_a_deadline(ovn_lab, lab_factory):
    lab = lab_factory(databases=("nb",))
    member = lab.info()["nb"]["members"][0]
    text = rpc.unixctl(member["ctl"], "cluster/status", ["OVN_Northbound"], timeout=5)
    assert cluster_status.parse_cluster_status(text)["name"] == "OVN_Northbound"
    lab.pause("nb", 0)
    try:
        started = time.monotonic()
        with pytest.raises(base.UnixctlError, match="within 2.0 s"):
            rpc.unixctl(member["ctl"], "cluster/status", ["OVN_Northbound"], timeout=2)
        assert time.monotonic() - started <= 3.0
    finally:
        lab.resume("nb", 0)
    with pytest.raises(base.UnixctlError, match="does not exist"):
        rpc.unixctl("/nonexistent/x.ctl", "cluster/status", ["OVN_Northbound"], timeout=2)


def _received_bytes(conn):
    return conn.idl._session.rpc.get_received_bytes()


def test_read_cost_is_flat_in_database_size(lab_factory):
    """50,000 logical switch ports must not be fetched by a read of Connection rows."""
    # One member: the point is the size of the database, not replicating it.
    lab = lab_factory(databases=("nb",), members=1)
    remotes = lab.info()["nb"]["remotes"]
    tables = {"NB_Global": ["connections"], "Connection": ["target", "inactivity_probe"]}
    with client.OvsdbClient(remotes, "OVN_Northbound", tables, timeout=20) as conn:
        small_bytes = _received_bytes(conn)

    ops = [{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "lsp%05d" % i},
            "uuid-name": "p%d" % i} for i in range(50000)]
    ops.append({"op": "insert", "table": "Logical_Switch", "row": {
        "name": "big", "ports": ["set", [["named-uuid", "p%d" % i] for i in range(50000)]]}})
    leader = lab.info()["nb"]["members"][lab.leader("nb")]["remote"]
    deadline = base.Deadline(120, "inserting 50,000 ports")
    channel = rpc.RpcChannel(leader, deadline)
    try:
        reply = channel.request("transact", ["OVN_Northbound"] + ops, deadline)
    finally:
        channel.close()
    assert not [r for r in reply if "error" in r], reply[-1]
    assert oracle.nbctl(remotes, "--no-leader-only", "--columns=name", "--bare", "find",
                        "Logical_Switch", "name=big") == "big"

    with client.OvsdbClient(remotes, "OVN_Northbound", tables, timeout=20) as conn:
        assert conn.monitored() == {"Connection": ["inactivity_probe", "target"],
                                    "NB_Global": ["connections"]}
        big_bytes = _received_bytes(conn)
    # Same handful of rows either way; the 50,000 ports (several MB) never cross the wire.
    assert big_bytes < 1.2 * small_bytes + 2048, (small_bytes, big_bytes)
