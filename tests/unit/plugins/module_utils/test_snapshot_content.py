"""Unit tests (no server) of the snapshot document: canonical JSON and checksum, refusal of altered,
foreign or malformed snapshots, the deployment descriptor and its shape, the restore plan, differences,
and the atomic file write."""

import copy
import hashlib
import json
import os
import stat

import pytest
import yaml

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import documents
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import snapshot as snap
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import snapshot_databases as snapdb
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import snapshot_document as snapdoc
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import OvsdbError

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4))

NB_ROWS = [
    {"target": "ptcp:6641:127.0.0.11", "inactivity_probe": 60000, "max_backoff": None, "other_config": {}},
    {"target": "ptcp:6641:127.0.0.12", "inactivity_probe": None, "max_backoff": 8000,
     "other_config": {"dscp": "48"}},
]
SB_ROWS = [
    {"target": "ptcp:6642:127.0.0.11", "inactivity_probe": 30000, "max_backoff": None, "read_only": False,
     "role": "", "other_config": {}},
]


def tunables_doc():
    return {
        "nb": {"connections": copy.deepcopy(NB_ROWS),
               "options": {"northd_probe_interval": "60000", "nbctl_probe_interval": None,
                           "ic_probe_interval": None, "sbctl_probe_interval": None},
               "election_timer": 1000},
        "sb": {"connections": copy.deepcopy(SB_ROWS), "options": {"sbctl_probe_interval": None}},
        "local_config": {"tcp:127.0.0.11:6651": {"connections": [
            {"target": "ptcp:6641:127.0.0.11", "inactivity_probe": None, "max_backoff": None,
             "read_only": False, "role": "", "other_config": {}}]}},
        "chassis": {"chassis-1": {"external_ids": {"ovn-remote-probe-interval": "30000",
                                                   "ovn-bridge-remote-probe-interval": None,
                                                   "ovn-openflow-probe-interval": None}}},
        "kube_ovn": {"namespace": "kube-system", "name": "ovn-central", "container": "ovn-central",
                     "env": {"OVN_LEADER_PROBE_INTERVAL": "5", "OVN_NORTHD_PROBE_INTERVAL": None,
                             "PROBE_INTERVAL": "180000", "OVN_NORTHD_N_THREADS": None}},
        "ovs_ovn": {"namespace": "kube-system", "name": "ovs-ovn", "container": "openvswitch",
                    "env": {"OVN_REMOTE_PROBE_INTERVAL": "10000", "OVN_REMOTE_OPENFLOW_INTERVAL": None}},
    }


def descriptor(**extra):
    deployment = {
        "name": "staging-1",
        "nb": {"remote": "tcp:127.0.0.11:6641,tcp:127.0.0.12:6641", "ctl_sockets": ["/run/nb1.ctl"]},
        "sb": {"remote": "tcp:127.0.0.11:6642"},
        "local_config": {"remotes": ["tcp:127.0.0.11:6651"]},
        "chassis": [{"name": "chassis-1", "remote": "unix:/run/ovs1.sock"}],
        "kube_ovn": {"kubeconfig": None, "context": None},
    }
    deployment.update(extra)
    return snap.validate_deployment(deployment)


def document(**changes):
    doc = snapdoc.build_document("staging-1", {"nb": {"remote": "tcp:127.0.0.11:6641"}}, tunables_doc(),
                                 created_at="2025-01-31T12:00:00Z")
    doc.update(changes)
    return doc


def resealed(doc):
    doc = copy.deepcopy(doc)
    doc["checksum"] = snapdoc.checksum_of(doc)
    return doc


# --------------------------------------------------------------------------- checksum

class TestChecksum:
    def test_canonical_json_is_sorted_and_compact(self):
        assert documents.canonical_json({"b": [1, {"d": None, "c": "x"}], "a": True}) == \
            '{"a":true,"b":[1,{"c":"x","d":null}]}'

    def test_checksum_is_sha256_of_the_canonical_content_without_the_checksum(self):
        doc = document()
        content = dict((k, v) for k, v in doc.items() if k != "checksum")
        expected = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        assert doc["checksum"] == expected
        assert snapdoc.checksum_of(doc) == expected

    def test_every_value_is_covered(self):
        doc = document()
        for path, value in (("created_at", "2025-01-31T12:00:01Z"), ("deployment", "staging-2")):
            assert snapdoc.checksum_of(dict(doc, **{path: value})) != doc["checksum"]
        changed = copy.deepcopy(doc)
        changed["tunables"]["nb"]["connections"][0]["inactivity_probe"] = 60001
        assert snapdoc.checksum_of(changed) != doc["checksum"]
        changed = copy.deepcopy(doc)
        changed["tunables"]["nb"]["options"]["nbctl_probe_interval"] = "5000"
        assert snapdoc.checksum_of(changed) != doc["checksum"]

    def test_key_order_in_the_file_does_not_matter(self):
        doc = document()
        reordered = json.loads(json.dumps(dict(reversed(list(doc.items())))))
        assert snapdoc.checksum_of(reordered) == doc["checksum"]

    def test_document_header(self):
        doc = document()
        assert doc["kind"] == "kubedc.ovn_tuning/snapshot"
        assert doc["schema_version"] == 1
        assert doc["collection_version"] == snapdoc.COLLECTION_VERSION
        assert doc["deployment"] == "staging-1"

    def test_created_at_is_utc_iso(self):
        stamp = snapdoc.utc_now()
        assert stamp.endswith("Z") and "T" in stamp and len(stamp) == len("2025-01-31T12:00:00Z")

    def test_collection_version_is_galaxy_version(self):
        with open(os.path.join(REPO_ROOT, "galaxy.yml")) as handle:
            assert yaml.safe_load(handle)["version"] == snapdoc.COLLECTION_VERSION


# --------------------------------------------------------------------------- refusing documents

class TestValidateDocument:
    def test_a_sealed_document_passes(self):
        doc = document()
        assert snapdoc.validate_document(doc) is doc

    def test_altered_value_is_a_checksum_mismatch(self):
        doc = document()
        doc["tunables"]["nb"]["connections"][0]["inactivity_probe"] = 1
        with pytest.raises(snap.SnapshotError, match="checksum mismatch"):
            snapdoc.validate_document(doc)

    def test_altered_checksum_is_a_checksum_mismatch(self):
        with pytest.raises(snap.SnapshotError, match="checksum mismatch"):
            snapdoc.validate_document(document(checksum="0" * 64))

    def test_missing_checksum(self):
        doc = document()
        del doc["checksum"]
        with pytest.raises(snap.SnapshotError, match="checksum mismatch"):
            snapdoc.validate_document(doc)

    @pytest.mark.parametrize("version", [2, 0, "1", None, True])
    def test_other_schema_version_is_refused_even_with_a_valid_checksum(self, version):
        with pytest.raises(snap.SnapshotError, match="schema_version is %s" % repr(version).replace("'", ".")):
            snapdoc.validate_document(resealed(document(schema_version=version)))

    def test_not_our_kind(self):
        with pytest.raises(snap.SnapshotError, match="not a kubedc.ovn_tuning snapshot"):
            snapdoc.validate_document(resealed(document(kind="something-else")))

    def test_not_an_object(self):
        with pytest.raises(snap.SnapshotError, match="JSON object"):
            snapdoc.validate_document([1, 2])

    @pytest.mark.parametrize("mutate,where", [
        (lambda t: t["nb"]["options"].pop("ic_probe_interval"), "tunables.nb.options"),
        (lambda t: t["nb"]["options"].update(extra="1"), "tunables.nb.options"),
        (lambda t: t["nb"]["connections"][0].update(inactivity_probe="60s"),
         r"tunables.nb.connections\[0\].inactivity_probe"),
        (lambda t: t["nb"]["connections"][1].update(target="ptcp:6641:127.0.0.11"),
         r"tunables.nb.connections\[1\].target"),
        (lambda t: t["nb"]["connections"][0].update(status="x"), r"tunables.nb.connections\[0\]: unknown column"),
        (lambda t: t["sb"]["connections"][0].update(read_only="no"), r"tunables.sb.connections\[0\].read_only"),
        (lambda t: t["nb"].update(election_timer="1000"), "tunables.nb.election_timer"),
        (lambda t: t["chassis"]["chassis-1"]["external_ids"].pop("ovn-openflow-probe-interval"),
         r"tunables.chassis\[chassis-1\].external_ids"),
        (lambda t: t["kube_ovn"]["env"].update(PROBE_INTERVAL=5), "tunables.kube_ovn.env.PROBE_INTERVAL"),
        (lambda t: t.update(ic={}), "tunables.ic: unknown part"),
    ])
    def test_malformed_content_is_refused_with_its_place(self, mutate, where):
        doc = document()
        mutate(doc["tunables"])
        with pytest.raises(snap.SnapshotError, match=where):
            snapdoc.validate_document(resealed(doc))

    def test_error_family(self):
        assert issubclass(snap.SnapshotError, OvsdbError)


# --------------------------------------------------------------------------- descriptor

class TestDescriptor:
    def test_normalised(self):
        d = descriptor()
        assert d["nb"] == {"remote": "tcp:127.0.0.11:6641,tcp:127.0.0.12:6641", "ctl_sockets": ["/run/nb1.ctl"]}
        assert d["sb"]["ctl_sockets"] == []
        assert d["kube_ovn"]["namespace"] == "kube-system" and d["kube_ovn"]["container"] == "ovn-central"
        assert d["kube_ovn"]["request_timeout"] == 30.0

    @pytest.mark.parametrize("deployment,param", [
        ({"nb": {"remote": "tcp:127.0.0.1:6641"}}, "deployment.name"),
        ({"name": "x"}, "deployment: name at least one part"),
        ({"name": "x", "nb": {"remote": "tcp:127.0.0.1"}}, "deployment.nb.remote"),
        ({"name": "x", "nb": {}}, "deployment.nb.remote: required"),
        ({"name": "x", "sb": {"remote": "tcp:127.0.0.1:6642", "ctl_sockets": ["rel.ctl"]}},
         r"deployment.sb.ctl_sockets\[0\]"),
        ({"name": "x", "sb": {"remote": "tcp:127.0.0.1:6642", "ctl_sockets": "/a.ctl"}}, "deployment.sb.ctl_sockets"),
        ({"name": "x", "local_config": {"remotes": []}}, "deployment.local_config.remotes"),
        ({"name": "x", "local_config": {"remotes": ["tcp:127.0.0.1:1,tcp:127.0.0.2:1"]}},
         r"deployment.local_config.remotes\[0\]: expected one remote"),
        ({"name": "x", "local_config": {"remotes": ["tcp:127.0.0.1:1", "tcp:127.0.0.1:1"]}},
         r"deployment.local_config.remotes\[1\]: tcp:127.0.0.1:1 is listed twice"),
        ({"name": "x", "chassis": [{"name": "a", "remote": "unix:/a"}, {"name": "a", "remote": "unix:/b"}]},
         r"deployment.chassis\[1\].name"),
        ({"name": "x", "chassis": [{"name": "a"}]}, r"deployment.chassis\[0\].remote"),
        ({"name": "x", "kube_ovn": {"namespace": ""}}, "deployment.kube_ovn.namespace"),
        ({"name": "x", "kube_ovn": {"ovs_ovn": {"name": ""}}}, "deployment.kube_ovn.ovs_ovn.name: must be"),
        ({"name": "x", "nb": {"remote": "tcp:127.0.0.1:6641"}, "sb_relays": {"remote": " "}},
         "deployment.sb_relays.remote: expected the relays' remotes"),
    ])
    def test_bad_descriptors_name_the_key(self, deployment, param):
        # Types, required and unknown keys are the module's argument spec's (test_snapshot.py's BAD_INPUTS).
        with pytest.raises(OvsdbError, match=param):
            snap.validate_deployment(deployment)

    def test_sb_relays_are_accepted_and_not_recorded(self):
        with_relays = descriptor(sb_relays={"remote": "tcp:127.0.0.51:6642,tcp:127.0.0.52:6642"})
        assert with_relays == descriptor() and "sb_relays" not in with_relays
        assert snap.descriptor_shape(with_relays) == snap.descriptor_shape(descriptor())

    def test_shape_labels(self):
        assert snap.descriptor_shape(descriptor()) == [
            "chassis[chassis-1]", "kube_ovn[kube-system/ovn-central/ovn-central]",
            "local_config[tcp:127.0.0.11:6651]", "nb", "nb.election_timer",
            "ovs_ovn[kube-system/ovs-ovn/openvswitch]", "sb"]
        assert snap.tunables_shape(tunables_doc()) == snap.descriptor_shape(descriptor())

    def test_same_shape_has_no_differences(self):
        assert snap.shape_differences(document(), descriptor()) == []

    def test_the_ovs_ovn_daemonset_comes_with_kube_ovn_unless_not_managed(self):
        d = descriptor(kube_ovn={"namespace": "ovn", "ovs_ovn": {"container": "ovs", "allow_restart": True}})
        assert d["ovs_ovn"] == {"namespace": "ovn", "name": "ovs-ovn", "container": "ovs", "allow_restart": True}
        assert descriptor()["ovs_ovn"]["allow_restart"] is False
        alone = descriptor(kube_ovn={"ovs_ovn": {"manage": False}})
        assert alone["ovs_ovn"] is None and alone["kube_ovn"]["name"] == "ovn-central"
        assert "ovs_ovn[kube-system/ovs-ovn/openvswitch]" not in snap.descriptor_shape(alone)

    def test_a_snapshot_taken_before_the_ovs_ovn_part_still_restores(self):
        old = tunables_doc()
        del old["ovs_ovn"]
        doc = snapdoc.build_document("staging-1", {}, old, created_at="2025-01-31T12:00:00Z")
        assert snap.older_than_ovs_ovn(doc, descriptor())
        assert snap.shape_differences(doc, descriptor()) == []
        assert not snap.older_than_ovs_ovn(document(), descriptor())

    def test_a_chassis_the_descriptor_lacks(self):
        d = descriptor()
        d["chassis"] = []
        problems = snap.shape_differences(document(), d)
        assert problems == ["the snapshot holds chassis[chassis-1], which the descriptor lacks"]

    def test_more_in_the_descriptor_and_another_name(self):
        d = descriptor()
        d["name"] = "prod-1"
        d["sb"]["ctl_sockets"] = ["/run/sb1.ctl"]
        problems = snap.shape_differences(document(), d)
        assert "the snapshot is of deployment 'staging-1', the descriptor names 'prod-1'" in problems
        assert "the descriptor has sb.election_timer, which the snapshot does not hold" in problems


# --------------------------------------------------------------------------- plans and differences

class TestPlanRestore:
    def test_identical_is_no_change(self):
        plan = snap.plan_restore(tunables_doc(), tunables_doc())
        assert plan == {"changed": False, "parts": {}}
        assert snapdoc.differences(tunables_doc(), tunables_doc()) == []

    def test_rows_added_removed_and_changed(self):
        live = tunables_doc()
        live["nb"]["connections"] = [
            dict(NB_ROWS[0], inactivity_probe=5000),                        # changed
            {"target": "ptcp:7000:127.0.0.11", "inactivity_probe": None,    # added since
             "max_backoff": None, "other_config": {}},
        ]                                                                   # NB_ROWS[1] removed since
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["changed"] is True
        assert plan["parts"]["nb"]["connections"] == {
            "create": ["ptcp:6641:127.0.0.12"],
            "update": [{"target": "ptcp:6641:127.0.0.11", "set": {"inactivity_probe": 60000}}],
            "delete": ["ptcp:7000:127.0.0.11"]}
        assert list(plan["parts"]) == ["nb"]

    def test_unset_column_is_set_back_to_unset(self):
        live = tunables_doc()
        live["nb"]["connections"][1]["max_backoff"] = None
        live["nb"]["connections"][1]["other_config"] = {}
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"]["nb"]["connections"]["update"] == [
            {"target": "ptcp:6641:127.0.0.12", "set": {"max_backoff": 8000, "other_config": {"dscp": "48"}}}]
        back = snap.plan_restore(tunables_doc(), live)
        assert back["parts"]["nb"]["connections"]["update"] == [
            {"target": "ptcp:6641:127.0.0.12", "set": {"max_backoff": None, "other_config": {}}}]

    def test_keys_added_and_removed(self):
        live = tunables_doc()
        live["nb"]["options"].update(northd_probe_interval=None, nbctl_probe_interval="5000")
        live["sb"]["options"]["sbctl_probe_interval"] = "1000"
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"]["nb"]["options"] == {"set": {"northd_probe_interval": "60000"},
                                                  "remove": ["nbctl_probe_interval"]}
        assert plan["parts"]["sb"]["options"] == {"set": {}, "remove": ["sbctl_probe_interval"]}

    def test_options_ovn_northd_copies_are_restored_through_the_source(self):
        live = tunables_doc()
        live["nb"]["options"]["sbctl_probe_interval"] = "1000"
        live["sb"]["options"]["sbctl_probe_interval"] = "1000"
        plan = snap.plan_restore(live, tunables_doc(), copied=("sb",))
        assert plan["parts"] == {"nb": {"options": {"set": {}, "remove": ["sbctl_probe_interval"]}}}
        assert snap.plan_restore(live, tunables_doc())["parts"]["sb"] == {
            "options": {"set": {}, "remove": ["sbctl_probe_interval"]}}

    def test_which_keys_are_recorded_where(self):
        # sbctl_probe_interval is read from SB_Global and set in NB_Global while ovn-northd runs.
        assert snapdb.option_keys("OVN_Northbound") == [
            "ic_probe_interval", "nbctl_probe_interval", "northd_probe_interval", "sbctl_probe_interval"]
        assert snapdb.option_keys("OVN_Southbound") == ["sbctl_probe_interval"]
        assert snapdb.is_northd_copy("OVN_Southbound", {"mac_prefix": "0a:00:00", "sbctl_probe_interval": "1"})
        assert not snapdb.is_northd_copy("OVN_Southbound", {"sbctl_probe_interval": "1"})
        assert not snapdb.is_northd_copy("OVN_Northbound", {"mac_prefix": "0a:00:00"})

    def test_election_timer_steps(self):
        live = tunables_doc()
        live["nb"]["election_timer"] = 250
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"]["nb"]["election_timer"] == {"before": 250, "after": 1000, "steps": [500, 1000]}
        live["nb"]["election_timer"] = 16000
        assert snap.plan_restore(live, tunables_doc())["parts"]["nb"]["election_timer"]["steps"] == [1000]

    def test_chassis_keys(self):
        live = tunables_doc()
        live["chassis"]["chassis-1"]["external_ids"].update(
            {"ovn-remote-probe-interval": None, "ovn-openflow-probe-interval": "30"})
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"] == {"chassis[chassis-1]": {"external_ids": {
            "set": {"ovn-remote-probe-interval": "30000"}, "remove": ["ovn-openflow-probe-interval"]}}}

    def test_local_config_rows(self):
        live = tunables_doc()
        live["local_config"]["tcp:127.0.0.11:6651"]["connections"][0]["inactivity_probe"] = 180000
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"] == {"local_config[tcp:127.0.0.11:6651]": {"connections": {
            "create": [], "delete": [],
            "update": [{"target": "ptcp:6641:127.0.0.11", "set": {"inactivity_probe": None}}]}}}

    def test_kube_ovn_env(self):
        live = tunables_doc()
        live["kube_ovn"]["env"].update(OVN_LEADER_PROBE_INTERVAL="15", OVN_NORTHD_N_THREADS="4")
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"] == {"kube_ovn": {"env": [
            {"name": "OVN_LEADER_PROBE_INTERVAL", "before": "15", "after": "5"},
            {"name": "OVN_NORTHD_N_THREADS", "before": "4", "after": None}]}}

    def test_ovs_ovn_env(self):
        live = tunables_doc()
        live["ovs_ovn"]["env"].update(OVN_REMOTE_PROBE_INTERVAL="300000", OVN_REMOTE_OPENFLOW_INTERVAL="180")
        plan = snap.plan_restore(live, tunables_doc())
        assert plan["parts"] == {"ovs_ovn": {"env": [
            {"name": "OVN_REMOTE_OPENFLOW_INTERVAL", "before": "180", "after": None},
            {"name": "OVN_REMOTE_PROBE_INTERVAL", "before": "300000", "after": "10000"}]}}
        assert snapdoc.flatten(live)["ovs_ovn.env.OVN_REMOTE_PROBE_INTERVAL"] == "300000"

    def test_differences_read_live_to_snapshot(self):
        live = tunables_doc()
        live["nb"]["options"]["northd_probe_interval"] = None
        live["nb"]["connections"][0]["inactivity_probe"] = 5000
        del live["nb"]["connections"][1]
        live["chassis"]["chassis-1"]["external_ids"]["ovn-openflow-probe-interval"] = "30"
        assert snapdoc.differences(live, tunables_doc()) == [
            'chassis[chassis-1].external_ids.ovn-openflow-probe-interval: "30" -> absent',
            'nb.connections[ptcp:6641:127.0.0.11]: {"inactivity_probe":5000,"max_backoff":null,"other_config":{}}'
            ' -> {"inactivity_probe":60000,"max_backoff":null,"other_config":{}}',
            'nb.connections[ptcp:6641:127.0.0.12]: absent -> '
            '{"inactivity_probe":null,"max_backoff":8000,"other_config":{"dscp":"48"}}',
            'nb.options.northd_probe_interval: absent -> "60000"',
        ]


# --------------------------------------------------------------------------- files

class TestFiles:
    def test_write_is_0600_and_round_trips(self, tmp_path):
        path = str(tmp_path / "snap.json")
        assert snapdoc.check_destination(path, force=False) is False
        doc = document()
        snapdoc.write_document(path, doc, force=False)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert snapdoc.load_document(path) == doc
        assert [p.name for p in tmp_path.iterdir()] == ["snap.json"]  # no temporary left behind

    def test_existing_file_is_refused_without_force(self, tmp_path):
        path = tmp_path / "snap.json"
        path.write_text("keep me")
        with pytest.raises(snap.SnapshotError, match="path: .* already exists and force is false"):
            snapdoc.check_destination(str(path), force=False)
        with pytest.raises(snap.SnapshotError, match="appeared while the snapshot was taken"):
            snapdoc.write_document(str(path), document(), force=False)
        assert path.read_text() == "keep me"
        assert [p.name for p in tmp_path.iterdir()] == ["snap.json"]

    def test_force_replaces(self, tmp_path):
        path = tmp_path / "snap.json"
        path.write_text("old")
        assert snapdoc.check_destination(str(path), force=True) is True
        snapdoc.write_document(str(path), document(), force=True)
        assert json.loads(path.read_text())["checksum"] == document()["checksum"]

    def test_missing_directory_and_directory_path(self, tmp_path):
        with pytest.raises(snap.SnapshotError, match="path: the directory .* does not exist"):
            snapdoc.check_destination(str(tmp_path / "no" / "snap.json"), force=False)
        with pytest.raises(snap.SnapshotError, match="is a directory"):
            snapdoc.check_destination(str(tmp_path), force=True)

    def test_load_refusals_name_the_path(self, tmp_path):
        missing = str(tmp_path / "none.json")
        with pytest.raises(snap.SnapshotError, match="path: .*none.json does not exist"):
            snapdoc.load_document(missing)
        garbage = tmp_path / "garbage.json"
        garbage.write_text("{not json")
        with pytest.raises(snap.SnapshotError, match="is not a JSON snapshot"):
            snapdoc.load_document(str(garbage))
        tampered = tmp_path / "tampered.json"
        doc = document()
        doc["deployment"] = "prod-1"
        tampered.write_text(json.dumps(doc))
        with pytest.raises(snap.SnapshotError, match="tampered.json refused: checksum mismatch"):
            snapdoc.load_document(str(tampered))


class TestRestoreGoesOn:
    """DeploymentSession.restore with the writes of the parts replaced: one item's failure does not
    stop the others, in the order rows, timers, env, and the error lists both sides."""

    PLAN = {"changed": True, "parts": {
        "nb": {"connections": {"create": [], "update": [], "delete": []},
               "election_timer": {"before": 4000, "after": 1000, "steps": [1000]}},
        "sb": {"connections": {"create": [], "update": [], "delete": []}},
        "local_config[tcp:127.0.0.11:6651]": {"connections": {"create": [], "update": [], "delete": []}},
        "chassis[chassis-1]": {"external_ids": {"set": {}, "remove": []}},
        "chassis[chassis-2]": {"external_ids": {"set": {}, "remove": []}},
    }}

    @pytest.fixture
    def journal(self, monkeypatch):
        """The writes, in order; nb's transaction and chassis-1 fail."""
        from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import snapshot_chassis
        writes = []

        def rows(part, session, want):
            writes.append(part.key)
            if part.key == "nb":
                raise snap.SnapshotError("nb: the transaction was refused (constraint violation)")

        def local_rows(part, session, remote, want, label):
            writes.append(label)

        def chassis(part, session, item, label, wanted):
            writes.append(label)
            if item["name"] == "chassis-1":
                raise OvsdbError("deployment.chassis[chassis-1]: could not reach a usable Open_vSwitch server")

        class Walk:
            def __init__(self, key):
                self.key = key

            def run(self, check_mode=False):
                writes.append(self.key + ".election_timer" + (" (check)" if check_mode else ""))
                return {"steps": [{"election_timer": 1000, "previous": 4000, "committed": not check_mode}],
                        "leader": {"ctl_socket": "/run/nb1.ctl"}, "unconfirmed": []}

        monkeypatch.setattr(snapdb.DatabasePart, "_write_rows", rows)
        monkeypatch.setattr(snapdb.LocalConfigPart, "_write_rows", local_rows)
        monkeypatch.setattr(snapshot_chassis.ChassisPart, "_write", chassis)
        monkeypatch.setattr(snapdb.DatabasePart, "_timer_walk",
                            lambda part, session, sockets, target_ms: Walk(part.key))
        return writes

    @staticmethod
    def session_and_snapshot():
        chassis = [{"name": "chassis-1", "remote": "unix:/run/ovs1.sock"},
                   {"name": "chassis-2", "remote": "unix:/run/ovs2.sock"}]
        session = snap.DeploymentSession(descriptor(kube_ovn=None, chassis=chassis), {"timeout": 30.0})
        wanted = tunables_doc()
        del wanted["kube_ovn"], wanted["ovs_ovn"]
        wanted["chassis"]["chassis-2"] = copy.deepcopy(wanted["chassis"]["chassis-1"])
        return session, wanted

    def test_a_failed_part_does_not_stop_the_others(self, journal):
        session, wanted = self.session_and_snapshot()
        with pytest.raises(snap.RestoreIncomplete) as caught:
            session.restore(wanted, self.PLAN, check_mode=False)
        # Every item was tried, in the order rows, then timers: nb's failed transaction did not stop
        # sb's rows, the other chassis or nb's own election timer.
        assert journal == ["nb", "sb", "local_config[tcp:127.0.0.11:6651]", "chassis[chassis-1]",
                           "chassis[chassis-2]", "nb.election_timer"]
        error = caught.value
        assert isinstance(error, snap.SnapshotError)
        assert error.restored == ["sb", "local_config[tcp:127.0.0.11:6651]", "chassis[chassis-2]",
                                  "nb.election_timer"]
        assert error.not_restored == [
            {"part": "nb", "reason": "the transaction was refused (constraint violation)"},
            {"part": "chassis[chassis-1]",
             "reason": "deployment.chassis[chassis-1]: could not reach a usable Open_vSwitch server"}]
        assert str(error) == (
            "the restore did not restore every part: not restored: nb - the transaction was refused (constraint"
            " violation); chassis[chassis-1] - deployment.chassis[chassis-1]: could not reach a usable"
            " Open_vSwitch server; restored: sb, local_config[tcp:127.0.0.11:6651], chassis[chassis-2],"
            " nb.election_timer")

    def test_check_mode_reports_a_part_it_cannot_check_and_goes_on(self, journal, monkeypatch):
        session, wanted = self.session_and_snapshot()

        def no_majority(part, session_, sockets, target_ms):
            class Walk:
                def run(self, check_mode=False):
                    journal.append("nb.election_timer (check)")
                    raise OvsdbError("ctl_socket: only 1 of the 3 given members answered cluster/status"
                                     " OVN_Northbound and a majority is needed, so nothing was changed: ...")
            return Walk()

        monkeypatch.setattr(snapdb.DatabasePart, "_timer_walk", no_majority)
        with pytest.raises(snap.RestoreIncomplete) as caught:
            session.restore(wanted, self.PLAN, check_mode=True)
        assert journal == ["nb.election_timer (check)"]  # no rows are written in check mode
        assert caught.value.restored == []
        assert [item["part"] for item in caught.value.not_restored] == ["nb.election_timer"]
        assert str(caught.value).startswith("check mode: 1 part(s) of the restore could not be checked, nothing"
                                            " was written: nb.election_timer - ctl_socket: only 1 of the 3")

    def test_everything_restored_returns_the_facts(self, journal, monkeypatch):
        session, wanted = self.session_and_snapshot()
        plan = {"changed": True, "parts": dict((label, change) for label, change in self.PLAN["parts"].items()
                                               if label not in ("chassis[chassis-1]",))}
        plan["parts"]["nb"] = {"election_timer": plan["parts"]["nb"]["election_timer"]}
        facts = session.restore(wanted, plan, check_mode=False)
        assert journal == ["sb", "local_config[tcp:127.0.0.11:6651]", "chassis[chassis-2]", "nb.election_timer"]
        assert facts["nb.election_timer"]["unconfirmed"] == []
        assert session.not_restored == []

    def test_a_refusal_comes_before_any_write(self, journal, monkeypatch):
        session, wanted = self.session_and_snapshot()

        def refuse(part, session_, want, parts):
            if part.key == "chassis":
                raise snap.SnapshotError("deployment.chassis: refused for the test")

        monkeypatch.setattr(snap.ChassisPart, "restore_check", refuse)
        with pytest.raises(snap.SnapshotError, match="^deployment.chassis: refused for the test; nothing was restored$"):
            session.restore(wanted, self.PLAN, check_mode=False)
        assert journal == []
