"""Unit tests (no server) of the pure parts of connection_rows and global_options:
target syntax, validation of desired rows and options, and the plans."""

import pytest

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import connection_rows as cr
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import global_options as go
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbConfigError, OvsdbError
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tunables import IntervalError


class TestParseTarget:
    @pytest.mark.parametrize("target,expected", [
        ("ptcp:6641", {"method": "ptcp", "passive": True, "port": 6641, "address": None, "path": None}),
        ("ptcp:6641:0.0.0.0", {"method": "ptcp", "passive": True, "port": 6641, "address": "0.0.0.0",
                               "path": None}),
        ("pssl:6642:127.0.0.2", {"method": "pssl", "passive": True, "port": 6642, "address": "127.0.0.2",
                                 "path": None}),
        ("ptcp:6641:[::1]", {"method": "ptcp", "passive": True, "port": 6641, "address": "::1", "path": None}),
        ("ptcp:6641:[fd00::11]", {"method": "ptcp", "passive": True, "port": 6641, "address": "fd00::11",
                                  "path": None}),
        ("punix:/var/run/ovn/ovnnb_db.sock", {"method": "punix", "passive": True, "port": None,
                                              "address": None, "path": "/var/run/ovn/ovnnb_db.sock"}),
        ("tcp:127.0.0.1:6640", {"method": "tcp", "passive": False, "port": 6640, "address": "127.0.0.1",
                                "path": None}),
        ("ssl:[::1]:6642", {"method": "ssl", "passive": False, "port": 6642, "address": "::1", "path": None}),
        ("tcp:ovn-central.kube-system:6641", {"method": "tcp", "passive": False, "port": 6641,
                                              "address": "ovn-central.kube-system", "path": None}),
        ("unix:db.sock", {"method": "unix", "passive": False, "port": None, "address": None,
                          "path": "db.sock"}),
    ])
    def test_accepted(self, target, expected):
        assert cr.parse_target(target) == expected

    @pytest.mark.parametrize("target,why", [
        ("", "is not a target"),
        ("6641", "no known method"),
        ("ptcp", "no known method"),
        ("http:127.0.0.1:80", "no known method"),
        ("ptcp:", "no valid port"),
        ("ptcp:abc", "no valid port"),
        ("ptcp:0", "outside 1-65535"),
        ("ptcp:70000", "outside 1-65535"),
        ("ptcp:6641:", "no address"),
        ("ptcp:6641:::1", "without brackets"),
        ("ptcp:6641:[::zz]", "invalid IPv6"),
        ("ptcp:6641:300.1.1.1", "invalid IPv4"),
        ("ptcp:6641:localhost", "invalid address"),
        ("ptcp:127.0.0.1:6641", "no valid port"),  # tcp order given to a passive target
        ("tcp:6641", "needs both an address and a port"),
        ("tcp:127.0.0.1", "needs both an address and a port"),
        ("tcp:6641:127.0.0.1", "invalid IPv4 address 6641"),  # ptcp order given to an active target
        ("tcp::::1:6641", "without brackets"),
        ("ssl:127.0.0.1:99999", "outside 1-65535"),
        ("punix:", "no socket path"),
        ("unix:", "no socket path"),
        (" ptcp:6641", "spaces"),
        ("ptcp:6641,ptcp:6642", "commas"),
        (6641, "is not a target"),
        (None, "is not a target"),
    ])
    def test_refused_with_a_sentence_naming_the_parameter(self, target, why):
        with pytest.raises(OvsdbConfigError) as error:
            cr.parse_target(target, "target")
        text = str(error.value)
        assert text.startswith("target: ")
        assert why in text
        assert "ptcp:PORT[:IP]" in text  # the accepted syntax is spelled out


class TestDesiredRow:
    def test_intervals_are_parsed_to_milliseconds(self):
        row = cr.desired_row("OVN_Northbound", "ptcp:6641",
                             settings={"inactivity_probe": "60s", "max_backoff": "2m"})
        assert row == {"target": "ptcp:6641", "state": "present",
                       "settings": {"inactivity_probe": 60000, "max_backoff": 120000}}

    def test_zero_disables_the_probe_but_not_the_backoff(self):
        assert cr.desired_row("OVN_Southbound", "ptcp:6642", settings={"inactivity_probe": 0},
                              allow_disabled_probe=True)["settings"] == {"inactivity_probe": 0}
        with pytest.raises(IntervalError, match="^max_backoff: "):
            cr.desired_row("OVN_Southbound", "ptcp:6642", settings={"max_backoff": 0})

    @pytest.mark.parametrize("target", ["ptcp:6642", "pssl:6642:10.0.0.1", "ptcp:6641:[::1]"])
    @pytest.mark.parametrize("value", [0, "0s", "0ms"])
    def test_a_listener_probe_of_zero_needs_consent(self, target, value):
        with pytest.raises(OvsdbConfigError) as error:
            cr.desired_row("OVN_Southbound", target, settings={"inactivity_probe": value})
        message = str(error.value)
        assert message.startswith("inactivity_probe: 0 disables the probe of listener %s; ovsdb-server then"
                                  " never notices a client that died" % target), message
        assert "a dead ovn-northd keeps the ovn_northd lock" in message
        assert message.endswith("Give a probe (60s is common), or set allow_disabled_probe=true"), message

    @pytest.mark.parametrize("target", ["punix:/run/ovn/ovnsb_db.sock", "tcp:10.0.0.1:6642"])
    def test_zero_needs_no_consent_where_nothing_waits_on_it(self, target):
        # punix: listeners are never probed; an active connection is not a listener clients hold locks on.
        assert cr.desired_row("OVN_Southbound", target,
                              settings={"inactivity_probe": 0})["settings"] == {"inactivity_probe": 0}

    @pytest.mark.parametrize("value,why", [
        (500, "below the minimum"), (-1, "negative"), ("2h", "above the maximum"),
        ("soon", "cannot read"), (True, "got True"),
    ])
    def test_bad_probe(self, value, why):
        with pytest.raises(IntervalError) as error:
            cr.desired_row("OVN_Northbound", "ptcp:6641", settings={"inactivity_probe": value})
        assert str(error.value).startswith("inactivity_probe: ")
        assert why in str(error.value)

    @pytest.mark.parametrize("column,value", [("role", "ovn-controller"), ("read_only", True)])
    def test_columns_the_nb_schema_lacks_are_refused_for_nb_only(self, column, value):
        with pytest.raises(OvsdbConfigError) as error:
            cr.desired_row("OVN_Northbound", "ptcp:6641", settings={column: value})
        assert str(error.value).startswith("%s: the OVN_Northbound schema" % column)
        assert "OVN_Southbound and Local_Config" in str(error.value)
        for database in ("OVN_Southbound", "Local_Config"):
            assert cr.desired_row(database, "ptcp:6642", settings={column: value})["settings"] == {column: value}

    def test_other_config_values_are_strings(self):
        row = cr.desired_row("OVN_Northbound", "ptcp:6641", settings={"other_config": {"dscp": 46}})
        assert row["settings"]["other_config"] == {"dscp": "46"}
        with pytest.raises(OvsdbConfigError, match=r"^other_config\.dscp: "):
            cr.desired_row("OVN_Northbound", "ptcp:6641", settings={"other_config": {"dscp": [1]}})
        with pytest.raises(OvsdbConfigError, match=r"^other_config: "):
            cr.desired_row("OVN_Northbound", "ptcp:6641", settings={"other_config": "dscp=46"})

    def test_absent_takes_no_settings(self):
        with pytest.raises(OvsdbConfigError, match="^inactivity_probe: only used with state=present"):
            cr.desired_row("OVN_Northbound", "ptcp:6641", "absent", {"inactivity_probe": 5000})

    def test_unknown_database(self):
        with pytest.raises(OvsdbConfigError, match="^database: 'Open_vSwitch' is not one of"):
            cr.desired_row("Open_vSwitch", "ptcp:6640")


def _row(uuid, target, probe=None, **columns):
    row = {"_uuid": uuid, "target": target, "inactivity_probe": probe, "max_backoff": None,
           "other_config": {}, "external_ids": {}}
    row.update(columns)
    return row


MEMBERS = [_row("u1", "ptcp:6641:127.0.0.1", 5000), _row("u2", "ptcp:6641:127.0.0.2", 5000),
           _row("u3", "ptcp:6641:127.0.0.3", 5000)]


class TestPlan:
    def test_nothing_to_do(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.2", settings={"inactivity_probe": "5s"})]
        changes = cr.plan(MEMBERS, desired)
        assert not changes["changed"]
        assert changes["rows_after"] == changes["rows_before"] == MEMBERS

    def test_update_touches_only_the_given_columns_of_one_row(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.2", settings={"inactivity_probe": 60000})]
        changes = cr.plan(MEMBERS, desired)
        assert changes["changed"]
        assert changes["create"] == [] and changes["delete"] == []
        assert changes["update"] == [{"uuid": "u2", "target": "ptcp:6641:127.0.0.2",
                                      "set": {"inactivity_probe": 60000}}]
        after = dict((r["target"], r) for r in changes["rows_after"])
        assert after["ptcp:6641:127.0.0.2"] == _row("u2", "ptcp:6641:127.0.0.2", 60000)
        assert after["ptcp:6641:127.0.0.1"] == MEMBERS[0]

    def test_create_keeps_the_others_and_predicts_the_new_row(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6650:127.0.0.1",
                                  settings={"inactivity_probe": "7s", "other_config": {"dscp": "46"}})]
        changes = cr.plan(MEMBERS, desired)
        assert changes["create"] == [{"target": "ptcp:6650:127.0.0.1",
                                      "settings": {"inactivity_probe": 7000, "other_config": {"dscp": "46"}}}]
        assert changes["delete"] == [] and changes["update"] == []
        assert len(changes["rows_after"]) == 4
        new = [r for r in changes["rows_after"] if r["target"] == "ptcp:6650:127.0.0.1"][0]
        assert new == _row(None, "ptcp:6650:127.0.0.1", 7000, other_config={"dscp": "46"})

    def test_exclusive_removes_every_other_row(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.1")]
        changes = cr.plan(MEMBERS, desired, exclusive=True)
        assert [d["target"] for d in changes["delete"]] == ["ptcp:6641:127.0.0.2", "ptcp:6641:127.0.0.3"]
        assert changes["update"] == [] and changes["create"] == []
        assert changes["rows_after"] == [MEMBERS[0]]

    def test_exclusive_with_a_new_target_replaces_all(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641")]
        changes = cr.plan(MEMBERS, desired, exclusive=True)
        assert len(changes["delete"]) == 3 and len(changes["create"]) == 1
        assert [r["target"] for r in changes["rows_after"]] == ["ptcp:6641"]

    def test_absent(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.3", "absent")]
        changes = cr.plan(MEMBERS, desired)
        assert changes["delete"] == [{"uuid": "u3", "target": "ptcp:6641:127.0.0.3"}]
        assert not cr.plan(MEMBERS[:2], desired)["changed"]

    def test_other_config_is_the_whole_map(self):
        current = [_row("u1", "ptcp:6641", other_config={"dscp": "46", "x": "1"})]
        same = cr.plan(current, [cr.desired_row("OVN_Northbound", "ptcp:6641",
                                                settings={"other_config": {"x": "1", "dscp": "46"}})])
        assert not same["changed"]
        fewer = cr.plan(current, [cr.desired_row("OVN_Northbound", "ptcp:6641",
                                                 settings={"other_config": {"dscp": "46"}})])
        assert fewer["update"][0]["set"] == {"other_config": {"dscp": "46"}}

    def test_none_unsets_an_optional_column_for_restores(self):
        changes = cr.plan(MEMBERS, [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.1",
                                                   settings={"inactivity_probe": None})])
        assert changes["update"][0]["set"] == {"inactivity_probe": None}

    def test_a_target_given_twice_is_refused(self):
        desired = [cr.desired_row("OVN_Northbound", "ptcp:6641"), cr.desired_row("OVN_Northbound", "ptcp:6641")]
        with pytest.raises(OvsdbConfigError, match="given more than once"):
            cr.plan([], desired)

    def test_plan_does_not_touch_its_input(self):
        current = [dict(r) for r in MEMBERS]
        cr.plan(current, [cr.desired_row("OVN_Northbound", "ptcp:6641:127.0.0.1",
                                         settings={"inactivity_probe": 1000})], exclusive=True)
        assert current == MEMBERS


class TestDesiredOptions:
    def test_probe_keys_become_integer_milliseconds(self):
        assert go.desired_options("OVN_Northbound", {"northd_probe_interval": "1m", "nbctl_probe_interval": 0,
                                                     "ic_probe_interval": 30000}) == {
            "northd_probe_interval": "60000", "nbctl_probe_interval": "0", "ic_probe_interval": "30000"}
        assert go.desired_options("OVN_Southbound", {"sbctl_probe_interval": "90s"}) == {
            "sbctl_probe_interval": "90000"}

    def test_other_keys_pass_through_as_strings(self):
        assert go.desired_options("OVN_Northbound", {"mac_prefix": "0a:00:00", "use_logical_dp_groups": True,
                                                     "n": 3, "gone": None}) == {
            "mac_prefix": "0a:00:00", "use_logical_dp_groups": "true", "n": "3", "gone": None}

    @pytest.mark.parametrize("options,message", [
        ({"northd_probe_interval": 500}, "options.northd_probe_interval: 500 is below the minimum"),
        ({"northd_probe_interval": -1}, "options.northd_probe_interval: -1 is negative"),
        ({"northd_probe_interval": "2h"}, "options.northd_probe_interval: '2h' is above the maximum"),
        ({"mac_prefix": ["a"]}, "options.mac_prefix: expected a string"),
        ({}, "options: name at least one key"),
        (["northd_probe_interval"], "options: expected a dictionary"),
        ({" k": "v"}, "options: keys must be non-empty strings"),
    ])
    def test_refused(self, options, message):
        with pytest.raises((OvsdbConfigError, IntervalError)) as error:
            go.desired_options("OVN_Northbound", options)
        assert str(error.value).startswith(message)

    def test_a_key_for_the_other_database_names_the_right_one(self):
        for options, state in (({"northd_probe_interval": 30000}, "present"),
                               (["nbctl_probe_interval"], "absent")):
            with pytest.raises(OvsdbConfigError) as error:
                go.desired_options("OVN_Southbound", options, state)
            assert str(error.value).startswith("options.")
            assert "use database: OVN_Northbound" in str(error.value)

    def test_sbctl_probe_is_set_in_nb_which_ovn_northd_copies_to_sb(self):
        assert go.desired_options("OVN_Northbound", {"sbctl_probe_interval": "30s"}) == {
            "sbctl_probe_interval": "30000"}
        assert go.desired_options("OVN_Southbound", {"sbctl_probe_interval": "30s"}) == {
            "sbctl_probe_interval": "30000"}
        with pytest.raises(IntervalError, match=r"^options\.sbctl_probe_interval: "):
            go.desired_options("OVN_Northbound", {"sbctl_probe_interval": 999})

    def test_a_sb_map_that_ovn_northd_maintains_is_refused(self):
        with pytest.raises(OvsdbError) as error:
            go.check_not_a_copy("OVN_Southbound", {"mac_prefix": "0a:00:00", "northd_internal_version": "x"})
        text = str(error.value)
        assert text.startswith("options: SB_Global.options is ovn-northd's copy of NB_Global.options")
        assert "database: OVN_Northbound" in text
        go.check_not_a_copy("OVN_Southbound", {"sbctl_probe_interval": "5000"})  # no ovn-northd
        go.check_not_a_copy("OVN_Northbound", {"mac_prefix": "0a:00:00"})

    def test_absent_takes_a_list_or_a_dict(self):
        assert go.desired_options("OVN_Northbound", ["a", "b"], "absent") == {"a": None, "b": None}
        assert go.desired_options("OVN_Northbound", {"a": "ignored", "northd_probe_interval": 1}, "absent") == {
            "a": None, "northd_probe_interval": None}


class TestOptionsPlan:
    CURRENT = {"northd_probe_interval": "5000", "mac_prefix": "0a:00:00"}

    def test_set_change_and_remove(self):
        changes = go.plan(self.CURRENT, {"northd_probe_interval": "60000", "nbctl_probe_interval": "30000",
                                         "mac_prefix": None, "never_set": None})
        assert changes["set"] == {"northd_probe_interval": "60000", "nbctl_probe_interval": "30000"}
        assert changes["remove"] == ["mac_prefix"]
        assert changes["before"] == {"northd_probe_interval": "5000", "nbctl_probe_interval": None,
                                     "mac_prefix": "0a:00:00", "never_set": None}
        assert changes["options_after"] == {"northd_probe_interval": "60000", "nbctl_probe_interval": "30000"}
        assert changes["changed"]

    def test_nothing_to_do(self):
        changes = go.plan(self.CURRENT, {"northd_probe_interval": "5000", "gone": None})
        assert not changes["changed"]
        assert changes["options_after"] == self.CURRENT
