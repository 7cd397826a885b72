"""The tunables table and the interval parser every module validates with."""

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import tunables


@pytest.mark.parametrize("value,tunable,expected", [
    (60000, "inactivity_probe", 60000),
    ("60s", "inactivity_probe", 60000),
    ("5m", "ovn-remote-probe-interval", 300000),
    ("60000ms", "northd_probe_interval", 60000),
    ("1h", "inactivity_probe", 3600000),
    (0, "inactivity_probe", 0),
    ("0", "northd_probe_interval", 0),
    (1000, "inactivity_probe", 1000),
    (60, "OVN_LEADER_PROBE_INTERVAL", 60),
    ("60s", "OVN_LEADER_PROBE_INTERVAL", 60),
    ("2m", "OVN_LEADER_PROBE_INTERVAL", 120),
    (100, "election_timer", 100),
    ("10s", "election_timer", 10000),
    (4, "OVN_NORTHD_N_THREADS", 4),
])
def test_accepted_values_convert_to_the_knobs_unit(value, tunable, expected):
    assert tunables.parse_interval(value, tunable, "param") == expected


@pytest.mark.parametrize("value,tunable,fragment", [
    (-1, "inactivity_probe", "negative"),
    ("-5s", "inactivity_probe", "negative"),
    (500, "inactivity_probe", "silently raise it to 1000 ms"),
    (999, "northd_probe_interval", "below the minimum"),
    (3600001, "inactivity_probe", "over one hour"),
    ("2h", "inactivity_probe", "above the maximum"),
    ("sixty", "inactivity_probe", "cannot read"),
    ("60 seconds", "inactivity_probe", "cannot read"),
    (True, "inactivity_probe", "expected"),
    (None, "inactivity_probe", "expected"),
    (60000, "OVN_LEADER_PROBE_INTERVAL", "looks like milliseconds"),
    ("500ms", "OVN_LEADER_PROBE_INTERVAL", "not a whole number of s"),
    (0, "max_backoff", "0 is not allowed"),
    (50, "election_timer", "below the minimum of 100"),
    (700000, "election_timer", "above the maximum of 600000"),
    (0, "OVN_NORTHD_N_THREADS", "out of range"),
])
def test_refused_values_name_the_parameter_and_the_range(value, tunable, fragment):
    with pytest.raises(tunables.IntervalError) as caught:
        tunables.parse_interval(value, tunable, "my_option")
    message = str(caught.value)
    assert message.startswith("my_option:")
    assert fragment in message
    assert tunables.get(tunable).range_text() in message


def test_every_tunable_is_complete_and_named_once():
    names = [t.name for t in tunables.TUNABLES]
    assert len(names) == len(set(names))
    for tunable in tunables.TUNABLES:
        assert tunable.unit in ("ms", "s", "count")
        assert tunable.minimum <= tunable.maximum
        assert tunable.location and tunable.description
        if tunable.kind == tunables.KIND_MAP_KEY:
            assert tunable.table and tunable.column and tunable.key


def test_map_keys_groups_by_table():
    assert set(tunables.map_keys("NB_Global")) == {
        "northd_probe_interval", "nbctl_probe_interval", "ic_probe_interval"}
    assert set(tunables.map_keys("SB_Global")) == {"sbctl_probe_interval"}


def test_docs_page_lists_every_tunable():
    page = tunables.markdown_page()
    for tunable in tunables.TUNABLES:
        assert "`%s`" % tunable.name in page


def test_a_relay_server_is_judged_from_its_own_answers():
    from ansible_collections.kubedc.ovn_tuning.plugins.modules import ovsdb_relay_probe as relay
    with_it = "help\novsdb-server/set-relay-source-probe-interval\nversion\n"
    taken = relay.judge("/r.ctl", "ovsdb-server (Open vSwitch) 3.3.0", with_it)
    assert (taken["supported"], taken["tunable"]) == (True, True)
    refused = relay.judge("/r.ctl", "ovsdb-server (Open vSwitch) 3.3.0", with_it, refusal="not allowed with --config-file")
    assert (refused["supported"], refused["tunable"]) == (True, False)
    assert "takes its configuration from --config-file" in refused["message"]
    old = relay.judge("/r.ctl", "ovsdb-server (Open vSwitch) 3.1.0", "help\nversion\n")
    assert (old["supported"], old["tunable"]) == (False, False)
    assert "not supported by this server (ovsdb-server (Open vSwitch) 3.1.0)" in old["message"]
