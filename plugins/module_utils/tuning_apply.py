# -*- coding: utf-8 -*-
# Copyright: kubedc.ovn_tuning contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tuning profile applied to one deployment in one module run (the ovn_tuning_apply module).

The deployment is the descriptor ovn_tuning_snapshot takes (``ovn_deployment``); the profile is
the roles' (module_utils/tuning_profile.py). Each database gets one transaction for its listener
rows and its probe options together, each Local_Config and each chassis one of its own, and the
election timers are walked last. Every listener row is written before any probe option (SB's, each
Local_Config's, then NB's with NB_Global.options), as the roles' apply step does: the servers become
more patient before any client changes how often it speaks. Every target is connected to (and every
cluster's members read) before the first write, so an unreachable part fails the run with nothing
changed; every write is read back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kubedc.ovn_tuning.plugins.module_utils import (
    chassis_probe, connection_rows, election_timer, global_options, tunables, tuning_profile)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_base import (
    Deadline, OvsdbConfigError, OvsdbError)
from ansible_collections.kubedc.ovn_tuning.plugins.module_utils.ovsdb_module import (
    client_from_params, validate_connection_params)

PROFILE = "profile"
# The descriptor's clustered databases: key, database, the profile field of its listener rows and
# of its election timer. Its option fields are the profile fields whose tunable lives in its
# global row's options (NB_Global: northd_, nbctl_, ic_probe_interval; SB_Global: sbctl_).
DATABASES = (("nb", "OVN_Northbound", "nb_inactivity_probe", "nb_election_timer"),
             ("sb", "OVN_Southbound", "sb_inactivity_probe", "sb_election_timer"))
LOCAL_CONFIG = "Local_Config"
LOCAL_CONFIG_FIELD = "local_config_inactivity_probe"
# A per-chassis key that overrides a plain one is left alone; this module has no per_chassis_keys.
PER_CHASSIS_HINT = "kubedc.ovn_tuning.ovn_chassis_probe with per_chassis_keys=set changes it too"
# Reconnecting to read back after a change that closed the listener this run came through.
READ_BACK_TIMEOUT = 10.0


class Target(object):
    """One database this run writes through one connection: ``label`` names it in results and
    errors (``nb``, ``local_config[REMOTE]``, ``chassis[NAME]``)."""

    leader_only = None

    def __init__(self, label, remote, database):
        self.label = label
        self.remote = remote
        self.database = database
        self.client = None

    def tables(self):
        raise NotImplementedError

    def plan(self, ovsdb):
        """``{"changed", "before": {setting: value}, "after": {setting: value}, ...}`` (pure read)."""
        raise NotImplementedError

    def write(self, txn, ovsdb, planned):
        raise NotImplementedError

    def check(self, planned):
        """Refuse, before any write, what the live database does not allow."""

    def notes(self, planned):
        """Sentences for the operator about what the plan cannot change."""
        return planned.get("warnings", ())


class ListenerTarget(Target):
    """The listener rows (every row the global row references) and the probe options of a
    database's global row: one transaction."""

    def __init__(self, label, remote, database, probe, options, allow_disabled_probe, probe_field):
        super(ListenerTarget, self).__init__(label, remote, database)
        self.probe = probe
        self.probe_field = probe_field
        self.options = options
        self.allow_disabled_probe = allow_disabled_probe
        if database == LOCAL_CONFIG:
            self.leader_only = False  # each server's own database

    def tables(self):
        table = connection_rows.global_table(self.database)
        tables = {table: ["connections"], connection_rows.CONNECTION_TABLE: list(connection_rows.CONNECTION_COLUMNS)}
        if self.options:
            tables[table].append(global_options.OPTIONS_COLUMN)
        return tables

    def plan(self, ovsdb):
        planned = {"changed": False, "before": {}, "after": {}, "rows": None, "options": None}
        if self.probe is not None:
            _row, rows = connection_rows.read_connections(ovsdb, self.database)
            desired = [connection_rows.desired_row(self.database, row["target"], "present",
                                                   {"inactivity_probe": self.probe},
                                                   allow_disabled_probe=self.allow_disabled_probe)
                       for row in rows]
            columns = [c for c in connection_rows.CONNECTION_COLUMNS
                       if c in ovsdb.monitored()[connection_rows.CONNECTION_TABLE]]
            planned["rows"] = connection_rows.plan(rows, desired, columns=columns)
            for key, rows_of in (("before", planned["rows"]["rows_before"]), ("after", planned["rows"]["rows_after"])):
                for row in rows_of:
                    planned[key]["connections[%s].inactivity_probe" % row["target"]] = row.get("inactivity_probe")
        if self.options:
            _row, current = global_options.read_options(ovsdb, self.database)
            planned["options"] = global_options.plan(current, self.options)
            planned["current_options"] = current
            for key in ("before", "after"):
                for option, value in planned["options"][key].items():
                    planned[key]["options.%s" % option] = value
        planned["changed"] = any(planned[part] and planned[part]["changed"] for part in ("rows", "options"))
        return planned

    def notes(self, planned):
        if planned["rows"] is not None and not planned["rows"]["rows_before"]:
            yield ("%s references no listener row (Connection); %s.%s changes nothing here - are the listeners"
                   " on ovsdb-server's command line?" % (connection_rows.global_table(self.database), PROFILE,
                                                         self.probe_field))

    def check(self, planned):
        if self.options:
            global_options.check_not_a_copy(self.database, planned["current_options"],
                                            param=", ".join("%s.%s" % (PROFILE, key) for key in sorted(self.options)))
        if planned["rows"] is not None:
            connection_rows.check_schema(self.database, self.client.monitored()[connection_rows.CONNECTION_TABLE],
                                         [{"settings": {"inactivity_probe": self.probe}}])

    def write(self, txn, ovsdb, planned):
        wrote = False
        if planned["rows"] is not None:
            wrote = connection_rows.apply(txn, ovsdb, planned["rows"], self.database) or wrote
        if planned["options"] is not None:
            wrote = global_options.apply(txn, ovsdb, planned["options"], self.database) or wrote
        return wrote


class ChassisTarget(Target):
    """ovn-controller's probe keys in a chassis' Open_vSwitch.external_ids (a per-chassis key that
    overrides one of them is left alone, with a warning)."""

    leader_only = False

    def __init__(self, label, remote, keys):
        super(ChassisTarget, self).__init__(label, remote, chassis_probe.DATABASE)
        self.keys = keys

    def tables(self):
        return {chassis_probe.TABLE: [chassis_probe.COLUMN]}

    def plan(self, ovsdb):
        planned = chassis_probe.plan(chassis_probe.read(ovsdb)[1], self.keys, per_chassis="warn")
        planned["warnings"] = [warning.replace(chassis_probe.PER_CHASSIS_HINT, PER_CHASSIS_HINT)
                               for warning in planned["warnings"]]
        # The keys the profile names, and the per-chassis forms of them that this chassis has.
        named = sorted(key for key in set(planned["before"]) | set(planned["after"]) | set(self.keys)
                       if chassis_probe.probe_key_of(key) in self.keys)
        planned["before"], planned["after"] = [
            dict(("external_ids.%s" % key, values.get(key)) for key in named)
            for values in (planned["before"], planned["after"])]
        return planned

    def write(self, txn, ovsdb, planned):
        return chassis_probe.apply(chassis_probe.read(ovsdb)[0], planned)


class DeploymentTuning(object):
    """The targets and election timer walks of one deployment for one profile; :meth:`run` applies them.

    ``descriptor``: validated (snapshot.validate_deployment); ``profile``: the ``profile`` option as
    given; ``params``: the shared client options; ``warn``: receives sentences for the operator.
    Everything is checked here, before any contact.
    """

    def __init__(self, descriptor, profile, params, warn):
        self.params = params
        self.warn = warn
        try:
            self.profile = tuning_profile.normalize_profile(profile, PROFILE)
        except tuning_profile.ProfileError as exc:
            raise OvsdbConfigError(str(exc))
        if self.profile[tuning_profile.ENV_FIELD]:
            raise OvsdbConfigError(
                "%s.%s: this module changes no kube-ovn workload (a new env restarts the database pods);"
                " kubedc.ovn_tuning.rollout applies it, or ovn_central_env / ovs_ovn_env; leave it out here"
                % (PROFILE, tuning_profile.ENV_FIELD))
        allow = bool(self.profile.get(tuning_profile.ALLOW_DISABLED_FIELD))
        if params["timeout"] is None or params["timeout"] <= 0:
            raise OvsdbConfigError("timeout: must be a positive number of seconds, got %r" % (params["timeout"],))
        listeners = {}
        self.timers = []
        for key, database, probe_field, timer_field in DATABASES:
            part = descriptor.get(key)
            options = dict((option, str(self.profile[field]))
                           for field, option in tuning_profile.option_fields(database, bool(descriptor.get("nb"))).items()
                           if self.profile[field] is not None)
            timer = self.profile[timer_field]
            if part is None:
                continue
            if self.profile[probe_field] is not None or options:
                listeners[key] = ListenerTarget(key, part["remote"], database, self.profile[probe_field],
                                                options, allow, probe_field)
            if timer is not None:
                if not part["ctl_sockets"]:
                    raise OvsdbConfigError(
                        "%s.%s: changing the election timer needs deployment.%s.ctl_sockets (the members'"
                        " ovsdb-server control sockets on the host this module runs on); with central_hosts"
                        " kubedc.ovn_tuning.rollout walks it through the leader's host"
                        % (PROFILE, timer_field, key))
                self.timers.append((key, part["ctl_sockets"], database, timer))
        # Every listener row before any probe option: SB's, each Local_Config's, then NB's, whose
        # transaction also carries the options (the servers become more patient before ovn-northd
        # changes how often it speaks).
        self.targets = [listeners["sb"]] if "sb" in listeners else []
        local = descriptor.get("local_config")
        if local and self.profile[LOCAL_CONFIG_FIELD] is not None:
            for remote in local["remotes"]:
                self.targets.append(ListenerTarget("local_config[%s]" % remote, remote, LOCAL_CONFIG,
                                                   self.profile[LOCAL_CONFIG_FIELD], {}, allow, LOCAL_CONFIG_FIELD))
        if "nb" in listeners:
            self.targets.append(listeners["nb"])
        keys = dict((key, str(self.profile[field])) for field, key in tuning_profile.chassis_fields().items()
                    if self.profile[field] is not None)
        if keys:
            for chassis in descriptor.get("chassis") or []:
                self.targets.append(ChassisTarget("chassis[%s]" % chassis["name"], chassis["remote"], keys))
            for warning in chassis_probe.warnings_for(keys):
                warn(warning)
            if descriptor.get("chassis_hosts"):
                warn("deployment.chassis_hosts: the chassis hosts %s are not tuned by this module; run"
                     " ovn_chassis_probe on each of them (kubedc.ovn_tuning.chassis does)"
                     % ", ".join(descriptor["chassis_hosts"]))
        for target in self.targets:
            validate_connection_params(dict(params, remote=target.remote), target.database)
        # Reaches nothing with this profile: say so rather than report "ok".
        if not self.targets and not self.timers:
            raise OvsdbConfigError(
                "%s: sets nothing that this deployment has (fields given: %s; deployment parts: %s)"
                % (PROFILE, ", ".join(field for field, _t in tuning_profile.PROFILE_FIELDS
                                      if self.profile[field] is not None) or "none",
                   ", ".join(key for key in ("nb", "sb", "local_config", "chassis") if descriptor.get(key))
                   or "none"))

    def close(self):
        for target in self.targets:
            if target.client is not None:
                target.client.close()
                target.client = None

    def _connect(self, target):
        params = dict(self.params, remote=target.remote)
        target.client = client_from_params(params, target.database, target.tables(), leader_only=target.leader_only)
        target.client.connect()

    def _read_back(self, target):
        """The target's settings as the server has them after the commit (reconnecting when the
        change closed our session); a plan that still finds something to change is an error."""
        client = target.client
        if not client.is_connected():
            client.connect(Deadline(min(client.timeout, READ_BACK_TIMEOUT),
                                    "reconnecting to %s to read back" % target.database))
        client.refresh()
        again = target.plan(client)
        if again["changed"]:
            raise OvsdbError("read back after the write, %s still differs from the profile (another"
                             " writer at the same time?)" % _changed_settings(again))
        return again["after"]

    def _walk(self, key, sockets, database, target_ms):
        """A walk of one cluster's election timer; its ``timeout`` starts now."""
        return election_timer.ElectionTimerChange(sockets, database, target_ms, self.params["timeout"], warn=self.warn)

    def run(self, check_mode):
        """Read everything, then write target by target and walk the timers; returns the result."""
        done = []
        planned = []
        label = None
        try:
            for target in self.targets:
                label = "deployment.%s" % target.label
                self._connect(target)
                plan = target.plan(target.client)
                target.check(plan)
                planned.append(plan)
            for key, sockets, database, target_ms in self.timers:
                label = "deployment.%s.ctl_sockets" % key
                walk = self._walk(key, sockets, database, target_ms)
                walk.wait_for_leader(walk.read_all())
            values = {}
            for target, plan in zip(self.targets, planned):
                label = "deployment.%s" % target.label
                after = plan["after"]
                if plan["changed"] and not check_mode:
                    target.client.converge(target.plan, target.write, check_mode=False,
                                           comment="kubedc.ovn_tuning.ovn_tuning_apply %s" % target.label)
                    done.append(target.label)
                    after = self._read_back(target)
                for note in target.notes(plan):
                    self.warn("%s: %s" % (label, note))
                values[target.label] = {"before": plan["before"], "after": after}
            timers = {}
            for key, sockets, database, target_ms in self.timers:
                label = "deployment.%s election timer" % key
                result = self._walk(key, sockets, database, target_ms).run(check_mode=check_mode)
                timers[key] = dict((name, result[name]) for name in ("steps", "leader", "election_timer_before",
                                                                     "election_timer_after"))
                values[key + ".election_timer"] = {"before": {"election_timer": result["election_timer_before"]},
                                                   "after": {"election_timer": result["election_timer_after"]}}
                if result["changed"] and not check_mode:
                    done.append(key + ".election_timer")
        except (OvsdbError, tunables.IntervalError) as exc:
            text = str(exc)
            if label and not text.startswith("deployment."):
                text = "%s: %s" % (label, text)
            raise OvsdbError("%s (already applied: %s)" % (text, ", ".join(done) if done else "nothing"))
        finally:
            self.close()
        changes = [{"part": part, "setting": setting, "before": value["before"].get(setting), "after": after}
                   for part, value in values.items()
                   for setting, after in sorted(value["after"].items())
                   if value["before"].get(setting) != after]
        return {"changed": bool(changes), "changes": changes, "election_timers": timers,
                "before": dict((part, value["before"]) for part, value in values.items()),
                "after": dict((part, value["after"]) for part, value in values.items())}


def _changed_settings(planned):
    return ", ".join("%s (%s, wanted %s)" % (setting, planned["before"].get(setting), value)
                     for setting, value in sorted(planned["after"].items())
                     if planned["before"].get(setting) != value) or "a setting"
