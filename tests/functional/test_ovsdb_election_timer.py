"""kubedc.ovn_tuning.ovsdb_election_timer against real 3-member ovsdb-server clusters.

The module runs through ansible-playbook. What the cluster really did is read independently:
``ovs-appctl -t <ctl> cluster/status`` on every member's host (timer, role, term, pending change) and
each member's own log, where ovsdb-server writes "Election timer changed from A to B" whenever
it applies a committed change. Destructive cases (timer changes, a killed leader) use private
labs; the cases that must not change anything use the session lab and prove that they did not.
"""

import re
import threading
import time

import pytest

from ovnlab import rpc
from support import ansible_run, oracle

MODULE = "kubedc.ovn_tuning.ovsdb_election_timer"
NB = "OVN_Northbound"
CHANGED_RE = re.compile(r"Election timer changed from (\d+) to (\d+)")
ELECTION_RE = re.compile(r"starting election|elected leader|leadership transfer|became follower",
                         re.IGNORECASE)


def run_module(args, check=False, diff=False, timeout=300):
    """One module run through ansible-playbook; ``failed`` comes from the task's status."""
    return ansible_run.run_module(MODULE, args, check=check, diff=diff, timeout=timeout)


# The member behind each control socket path the module is given: the oracle runs ovs-appctl on
# that member's host, against its standard path.
_MEMBER_OF_CTL = {}


def appctl_status(ctl, database=NB):
    """cluster/status read with the ovs-appctl CLI on the member's host, as the few fields the
    tests need."""
    lab_info, member = _MEMBER_OF_CTL[ctl]
    text = oracle.run(oracle.appctl_argv(lab_info, member, "cluster/status", database))
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    timer = re.match(r"(\d+)(?: \(changing to (\d+)\))?", fields["Election timer"])
    return {"role": fields["Role"], "term": int(fields["Term"]), "leader": fields["Leader"],
            "timer": int(timer.group(1)),
            "pending": int(timer.group(2)) if timer.group(2) else None,
            "uncommitted": int(fields["Entries not yet committed"]),
            "server_id": fields["Server ID"].split()[0], "address": fields["Address"],
            "status": fields["Status"]}


def members(lab):
    info = lab.info()
    for member in info["nb"]["members"]:
        _MEMBER_OF_CTL[member["ctl"]] = (info, member)
    return info["nb"]["members"]


def ctls(lab):
    return [m["ctl"] for m in members(lab)]


def log_size(member):
    with open(member["log_file"], "rb") as handle:
        return len(handle.read())


def log_since(member, offset):
    with open(member["log_file"], "rb") as handle:
        return handle.read()[offset:].decode("utf-8", "replace")


def timer_changes(text):
    return [(int(a), int(b)) for a, b in CHANGED_RE.findall(text)]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s not seen within %s s" % (what, timeout))
        time.sleep(0.1)


def healthy_at(lab, timer_ms, live=None):
    """Every (live) member shows ``timer_ms`` with nothing pending, one leader, one term,
    and no entry left uncommitted on the leader."""
    statuses = [appctl_status(m["ctl"]) for i, m in enumerate(members(lab))
                if live is None or i in live]
    leaders = [s for s in statuses if s["role"] == "leader"]
    return (all(s["timer"] == timer_ms and s["pending"] is None for s in statuses)
            and len(leaders) == 1 and leaders[0]["uncommitted"] == 0
            and len({s["term"] for s in statuses}) == 1
            and all(s["status"] == "cluster member" for s in statuses))


@pytest.fixture
def nb_cluster(lab_factory):
    """A private 3-member NB cluster at 1000 ms."""
    lab = lab_factory(name="etimer", databases=("nb",), election_timer_ms=1000)
    assert healthy_at(lab, 1000)
    return lab


def test_raise_in_doubling_steps_check_real_again_then_decrease(nb_cluster):
    lab = nb_cluster
    args = {"ctl_socket": ctls(lab), "database": NB, "election_timer": "10s", "timeout": 120}
    leader_index = lab.leader("nb")
    leader_ctl = members(lab)[leader_index]["ctl"]
    term_before = appctl_status(leader_ctl)["term"]
    offsets = [log_size(m) for m in members(lab)]

    # Check mode: the plan, and nothing set.
    checked = run_module(args, check=True, diff=True)
    assert not checked["failed"], checked.get("msg")
    assert checked["changed"] is True
    assert [s["election_timer"] for s in checked["steps"]] == [2000, 4000, 8000, 10000]
    assert [s["previous"] for s in checked["steps"]] == [1000, 2000, 4000, 8000]
    assert not any(s["committed"] for s in checked["steps"])
    assert {s["leader"]["ctl_socket"] for s in checked["steps"]} == {leader_ctl}
    assert checked["diff"] == {"before": {"election_timer": 1000}, "after": {"election_timer": 10000}}
    assert healthy_at(lab, 1000)
    assert all(timer_changes(log_since(m, o)) == [] for m, o in zip(members(lab), offsets))

    # For real: four steps, each committed and applied by every member before the next.
    applied = run_module(args, diff=True)
    assert not applied["failed"], applied.get("msg")
    assert applied["changed"] is True
    assert (applied["election_timer_before"], applied["election_timer_after"]) == (1000, 10000)
    assert applied["election_timer_pending_before"] is None
    steps = applied["steps"]
    assert [s["election_timer"] for s in steps] == [2000, 4000, 8000, 10000]
    assert all(s["committed"] for s in steps)
    assert {s["leader"]["ctl_socket"] for s in steps} == {leader_ctl}
    assert applied["leader"]["ctl_socket"] == leader_ctl
    assert applied["diff"] == {"before": {"election_timer": 1000}, "after": {"election_timer": 10000}}
    assert [m["election_timer"] for m in applied["members"]] == [10000] * 3
    # Every member applied the four steps, in order; no election happened in between (the cluster
    # stayed healthy after each step), and it is healthy at the end.
    expected = [(1000, 2000), (2000, 4000), (4000, 8000), (8000, 10000)]
    for member, offset in zip(members(lab), offsets):
        text = log_since(member, offset)
        assert timer_changes(text) == expected, (member["ctl"], text[-2000:])
        assert not ELECTION_RE.search(text), (member["ctl"], text[-2000:])
    assert healthy_at(lab, 10000)
    assert appctl_status(leader_ctl)["term"] == term_before

    # Again: nothing to do.
    again = run_module(args, diff=True)
    assert not again["failed"], again.get("msg")
    assert again["changed"] is False and again["steps"] == []
    assert again["diff"] == {"before": {"election_timer": 10000}, "after": {"election_timer": 10000}}
    assert healthy_at(lab, 10000)

    # Back down: one step, then idempotent.
    offsets = [log_size(m) for m in members(lab)]
    down_args = dict(args, election_timer=1000)
    checked_down = run_module(down_args, check=True)
    assert checked_down["changed"] is True
    assert [s["election_timer"] for s in checked_down["steps"]] == [1000]
    assert healthy_at(lab, 10000)
    down = run_module(down_args, diff=True)
    assert not down["failed"], down.get("msg")
    assert down["changed"] is True
    assert [(s["previous"], s["election_timer"], s["committed"]) for s in down["steps"]] == [(10000, 1000, True)]
    assert down["diff"] == {"before": {"election_timer": 10000}, "after": {"election_timer": 1000}}
    for member, offset in zip(members(lab), offsets):
        assert timer_changes(log_since(member, offset)) == [(10000, 1000)]
    assert healthy_at(lab, 1000)
    down_again = run_module(down_args)
    assert down_again["changed"] is False and down_again["steps"] == []


def test_check_mode_plans_from_a_pending_change(nb_cluster):
    """A change that cannot commit yet (the followers stopped answering RAFT) is reported and
    planned from; check mode neither waits for it nor sets anything."""
    lab = nb_cluster
    lab.change_election_timer("nb", 10000, timeout=60)
    leader_index = lab.leader("nb")
    leader_ctl = members(lab)[leader_index]["ctl"]
    followers = [m["ctl"] for i, m in enumerate(members(lab)) if i != leader_index]
    for ctl in followers:
        rpc.unixctl(ctl, "cluster/failure-test", "stop-raft-rpc")
    try:
        rpc.unixctl(leader_ctl, "cluster/change-election-timer", NB, 5000)
        assert appctl_status(leader_ctl)["pending"] == 5000
        checked = run_module({"ctl_socket": ctls(lab), "database": NB, "election_timer": 8000},
                             check=True)
        assert not checked["failed"], checked.get("msg")
        # The leader holds on to its leadership for one election timer (10 s) without replies;
        # ansible-playbook starts well within that.
        assert checked["election_timer_before"] == 10000
        assert checked["election_timer_pending_before"] == 5000
        assert [(s["previous"], s["election_timer"]) for s in checked["steps"]] == [(5000, 8000)]
        assert appctl_status(leader_ctl)["pending"] == 5000, "check mode touched the pending change"
    finally:
        for ctl in followers:
            rpc.unixctl(ctl, "cluster/failure-test", "clear")
    wait_for(lambda: healthy_at(lab, 5000) or healthy_at(lab, 10000), 90,
             "the cluster settled after the failure test")


def test_leader_killed_during_the_change_is_followed(nb_cluster):
    """The leader takes the first step, cannot commit it (its followers stopped answering RAFT)
    and is SIGKILLed; the module waits for the new leader among the other sockets and finishes."""
    lab = nb_cluster
    lab.change_election_timer("nb", 10000, timeout=60)
    leader_index = lab.leader("nb")
    old_ctl = members(lab)[leader_index]["ctl"]
    follower_indexes = [i for i in range(3) if i != leader_index]
    followers = [members(lab)[i]["ctl"] for i in follower_indexes]
    module_timeout = 150
    outcome = {}

    def run_in_background():
        started = time.monotonic()
        outcome["result"] = run_module({"ctl_socket": ctls(lab), "database": NB,
                                        "election_timer": 40000, "timeout": module_timeout},
                                       diff=True, timeout=module_timeout + 120)
        outcome["seconds"] = time.monotonic() - started

    for ctl in followers:
        rpc.unixctl(ctl, "cluster/failure-test", "stop-raft-rpc")
    worker = threading.Thread(target=run_in_background, daemon=True)
    try:
        worker.start()
        # The module's first step, taken by the leader and stuck uncommitted.
        wait_for(lambda: appctl_status(old_ctl)["pending"] == 20000, 60,
                 "the module's first step (20000 ms) pending on the leader")
        lab.kill("nb", leader_index)
    finally:
        for ctl in followers:
            rpc.unixctl(ctl, "cluster/failure-test", "clear")
    worker.join(module_timeout + 150)
    assert not worker.is_alive(), "ansible-playbook did not return"
    result = outcome["result"]
    # Bounded by its timeout (with room for ansible-playbook's own start and stop).
    assert outcome["seconds"] < module_timeout + 60

    assert not result["failed"], result.get("msg")
    assert result["changed"] is True
    assert (result["election_timer_before"], result["election_timer_after"]) == (10000, 40000)
    steps = result["steps"]
    assert steps[0]["election_timer"] == 20000 and steps[0]["leader"]["ctl_socket"] == old_ctl
    new_ctl = result["leader"]["ctl_socket"]
    assert new_ctl in followers
    assert steps[-1] == dict(steps[-1], election_timer=40000, committed=True)
    assert steps[-1]["leader"]["ctl_socket"] == new_ctl
    # Whether the old leader's 20000 survived in the new leader's log or was set again, the
    # committed values went 10000 -> 20000 -> 40000 and nothing was skipped.
    assert [s["election_timer"] for s in steps if s["committed"]] == [20000, 40000]
    assert any(old_ctl in w and "went away" in w for w in result.get("warnings", []))
    assert [m["reachable"] for m in result["members"]] == [i != leader_index for i in range(3)]
    assert healthy_at(lab, 40000, live=follower_indexes)
    assert appctl_status(new_ctl)["role"] == "leader"

    # The killed member comes back and takes the committed value.
    lab.restart("nb", leader_index, timeout=120)
    wait_for(lambda: healthy_at(lab, 40000), 120, "the restarted member at 40000 ms")


def test_a_paused_follower_is_reported_and_not_waited_for(nb_cluster):
    """One follower SIGSTOPped - it keeps its sockets and answers nothing, as a member in a GC pause or
    on a hung host. The leader and the other member are a majority: check mode, the change and the
    run with nothing left to change all succeed, each naming the paused member as unconfirmed, and
    none waits for it until its deadline."""
    lab = nb_cluster
    nb = members(lab)
    leader_index = lab.leader("nb")
    paused_index = next(i for i in range(3) if i != leader_index)
    running_index = 3 - leader_index - paused_index
    leader_ctl, paused_ctl, running_ctl = (nb[i]["ctl"] for i in (leader_index, paused_index, running_index))
    live = (leader_ctl, running_ctl)
    module_timeout = 90
    args = {"ctl_socket": ctls(lab), "database": NB, "election_timer": 8000, "timeout": module_timeout}
    offsets = [log_size(m) for m in nb]

    def paused_unconfirmed(result):
        assert [u["ctl_socket"] for u in result["unconfirmed"]] == [paused_ctl], result["unconfirmed"]
        assert result["unconfirmed"][0]["reason"].startswith("did not answer: "), result["unconfirmed"]
        assert any(paused_ctl in w and "not confirmed" in w for w in result.get("warnings", [])), \
            result.get("warnings")
        member = next(m for m in result["members"] if m["ctl_socket"] == paused_ctl)
        assert member["reachable"] is False

    lab.pause("nb", paused_index)
    try:
        # Check mode: the plan, the paused member reported, nothing set.
        checked = run_module(args, check=True)
        assert not checked["failed"], checked.get("msg")
        assert checked["changed"] is True
        assert [s["election_timer"] for s in checked["steps"]] == [2000, 4000, 8000]
        paused_unconfirmed(checked)
        assert [(appctl_status(ctl)["timer"], appctl_status(ctl)["pending"]) for ctl in live] == [(1000, None)] * 2
        assert all(timer_changes(log_since(nb[i], offsets[i])) == [] for i in (leader_index, running_index))

        # For real: three steps, each committed and shown by the leader and the running member.
        started = time.monotonic()
        applied = run_module(args, diff=True, timeout=module_timeout + 120)
        seconds = time.monotonic() - started
        assert not applied["failed"], applied.get("msg")
        assert applied["changed"] is True
        assert [(s["election_timer"], s["committed"]) for s in applied["steps"]] == [
            (2000, True), (4000, True), (8000, True)]
        assert applied["leader"]["ctl_socket"] == leader_ctl
        assert (applied["election_timer_before"], applied["election_timer_after"]) == (1000, 8000)
        paused_unconfirmed(applied)
        # Well within its timeout: the paused member cost one call timeout (5 s) in the first read,
        # and the walk did not wait for it (the old walk ran into its deadline).
        assert seconds < module_timeout / 2, seconds
        for ctl in live:
            status = appctl_status(ctl)
            assert (status["timer"], status["pending"]) == (8000, None), (ctl, status)
        assert appctl_status(leader_ctl)["role"] == "leader"
        expected = [(1000, 2000), (2000, 4000), (4000, 8000)]
        for index in (leader_index, running_index):
            assert timer_changes(log_since(nb[index], offsets[index])) == expected

        # Again: nothing to change, at once, the paused member still reported.
        again = run_module(args, diff=True)
        assert not again["failed"], again.get("msg")
        assert again["changed"] is False and again["steps"] == []
        assert again["diff"] == {"before": {"election_timer": 8000}, "after": {"election_timer": 8000}}
        paused_unconfirmed(again)
    finally:
        lab.resume("nb", paused_index)
    # The resumed member takes the committed value from the leader's log.
    wait_for(lambda: healthy_at(lab, 8000), 90, "the resumed follower at 8000 ms")


def test_no_leader_among_the_sockets_names_the_leader(ovn_lab):
    leader_index = ovn_lab.leader("nb")
    nb = members(ovn_lab)
    leader = appctl_status(nb[leader_index]["ctl"])
    followers = [m["ctl"] for i, m in enumerate(nb) if i != leader_index]
    timer = leader["timer"]

    result = run_module({"ctl_socket": followers, "database": NB, "election_timer": timer * 2})
    assert result["failed"]
    assert result["msg"].startswith("none of the given ctl_socket members")
    assert "server %s at %s leads" % (leader["server_id"], leader["address"]) in result["msg"]
    assert healthy_at(ovn_lab, timer)


BAD_INPUTS = [
    ("too small", {"election_timer": 50}, "election_timer"),
    ("too large", {"election_timer": 700000}, "election_timer"),
    ("not a number", {"election_timer": "abc"}, "election_timer"),
    ("negative", {"election_timer": -1}, "election_timer"),
    ("unknown ctl path", {"ctl_socket": ["/nonexistent/ovnnb_db.ctl"]}, "ctl_socket"),
    ("relative ctl path", {"ctl_socket": ["nb1.ctl"]}, "ctl_socket"),
    ("zero timeout", {"timeout": 0}, "timeout"),
    ("not the NB socket", {"database": "OVN_Southbound"}, "ctl_socket"),
]


def test_bad_inputs_fail_before_any_change(ovn_lab):
    nb = members(ovn_lab)
    timer = appctl_status(nb[ovn_lab.leader("nb")]["ctl"])["timer"]
    offsets = [log_size(m) for m in nb]
    cases = []
    for name, args, _param in BAD_INPUTS:
        full = {"ctl_socket": [m["ctl"] for m in nb], "database": NB, "election_timer": timer * 2}
        full.update(args)
        cases.append((name, full))
    results = ansible_run.run_cases(cases, module=MODULE, timeout=300)
    for name, _args, param in BAD_INPUTS:
        result = results[name]
        assert result["failed"] is True, (name, result)
        assert result["msg"].startswith(param), (name, result["msg"])
        assert result.get("changed") is False
    # Nothing changed: same timer everywhere, and no member applied any change.
    assert healthy_at(ovn_lab, timer)
    assert all(timer_changes(log_since(m, o)) == [] for m, o in zip(nb, offsets))
