"""kubedc.ovn_tuning.ovsdb_relay_probe against a real SB relay of the lab (ovsdb-server 3.1, which has no
set-relay-source-probe-interval): it must report "not supported by this server" and change nothing,
in check mode and for real, never fail; bad input fails naming the option. The relay's command list is
read independently with ovs-appctl."""

from support import oracle
from support.ansible_run import run_cases
from support.rollout import cli


def test_a_relay_of_ovsdb_server_3_1_is_reported_not_supported(lab_factory, tmp_path):
    lab = lab_factory(name="relayprobe", members=1, sb_relays=1)
    info = lab.info()
    relay = info["sb_relays"][0]
    commands = cli(*oracle.appctl_argv(info, relay, "list-commands"))
    version = cli(*oracle.appctl_argv(info, relay, "version")).splitlines()[0]
    assert "ovsdb-server/set-relay-source-probe-interval" not in commands and "3.1" in version
    args = {"ctl_sockets": [relay["ctl"]], "probe_interval": "60s"}
    results = run_cases(module="ovsdb_relay_probe", cases=[
        ("check", args, True), ("real", args, False), ("again", args, False),
        ("low", dict(args, probe_interval=500), False),
        ("relative", dict(args, ctl_sockets=["run/ovn/ovnsb_db.ctl"]), False),
        ("missing", dict(args, ctl_sockets=[str(tmp_path / "gone.ctl")]), False)])
    for label in ("check", "real", "again"):
        result = results[label]
        assert not result["failed"] and result["changed"] is False, (label, result.get("msg"))
        assert result["probe_interval"] == 60000
        server = result["servers"][0]
        assert (server["supported"], server["tunable"], server["changed"]) == (False, False, False)
        assert server["version"] == version
        assert "not supported by this server (%s)" % version in server["message"]
        assert any("not supported by this server" in w for w in result.get("warnings", []))
    assert results["low"]["failed"] and "probe_interval: 500 is below the minimum of 1000 ms" in results["low"]["msg"]
    assert results["relative"]["failed"] and "ctl_sockets[0]: must be an absolute path" in results["relative"]["msg"]
    assert results["missing"]["failed"] and "gone.ctl does not exist" in results["missing"]["msg"]
    # The relay still serves its clients (a relay is no cluster leader: --no-leader-only).
    assert oracle.sbctl(info["sb_relay_remotes"], "--no-leader-only", "get", "SB_Global", ".", "_uuid")
