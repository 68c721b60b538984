"""Scenario files: validation errors, seeded sampling, the paper scenario (docs/model.md §1, §2, §8.1)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

import edgefm
from edgefm.scenario import sample_scenario, spec_from_dict

PAPER = edgefm.data_path("scenarios", "paper.yaml")


@pytest.fixture(scope="module")
def paper_doc() -> dict:
    with open(PAPER, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture
def doc(paper_doc) -> dict:
    """A fresh, mutable copy of the paper scenario document."""
    return copy.deepcopy(paper_doc)


def _arrays(s):
    return (s.capacity, s.demand, s.arrival_rates, s.base_rates, s.deadlines,
            np.array([[lk.rate, lk.propagation] for lk in s.links]),
            np.array([[m.work, m.output, m.mean_rate] for m in s.microservices]),
            np.array([t.input_mb for t in s.task_types]))


# =========================================================================== sampling
def test_same_seed_gives_equal_scenarios_and_identical_arrays():
    a = edgefm.load_scenario(PAPER, seed=11)
    b = edgefm.load_scenario(PAPER, seed=11)
    assert a == b
    for x, y in zip(_arrays(a), _arrays(b)):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_give_different_scenarios():
    a = edgefm.load_scenario(PAPER, seed=0)
    b = edgefm.load_scenario(PAPER, seed=1)
    assert a != b
    # every range-valued array moves: no field is accidentally tied to a fixed stream
    for x, y in zip(_arrays(a), _arrays(b)):
        assert not np.array_equal(x, y)


def test_with_load_scales_arrival_rates_only():
    s = edgefm.load_scenario(PAPER, seed=4)
    h = s.with_load(2.0)
    np.testing.assert_allclose(h.arrival_rates, 2.0 * s.arrival_rates, rtol=0, atol=0)
    np.testing.assert_array_equal(h.base_rates, s.base_rates)
    assert h.replace(load=s.load) == s  # nothing but the multiplier changed
    # sampling at a load gives the same draw as re-loading afterwards (paired comparisons)
    assert edgefm.load_scenario(PAPER, seed=4, load=2.0) == h
    with pytest.raises(ValueError):
        s.with_load(-1.0)


def test_changing_one_range_leaves_every_other_draw_unchanged(doc):
    base = sample_scenario(spec_from_dict(copy.deepcopy(doc), "a.yaml"), seed=5)
    doc["ms_classes"]["core"]["rate"] = [100, 200]  # was [8, 32]
    doc["links"]["rate"] = 0.5  # a range made degenerate still consumes its draw
    new = sample_scenario(spec_from_dict(doc, "a.yaml"), seed=5)
    assert new.nodes == base.nodes and new.users == base.users and new.task_types == base.task_types
    assert all(lk.rate == 0.5 for lk in new.links)
    for m0, m1 in zip(base.microservices, new.microservices):
        assert (m0.resources, m0.work, m0.output, m0.shape, m0.scale) == \
               (m1.resources, m1.work, m1.output, m1.shape, m1.scale)
        if m0.is_core:
            # the same uniform draw u mapped into the new interval: (x - lo) / (hi - lo) is unchanged
            assert (m1.rate - 100) / 100 == pytest.approx((m0.rate - 8) / 24, rel=1e-12)
        else:
            assert m1.rate is None


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sampled_values_lie_within_their_ranges(seed):
    spec = edgefm.load_spec(PAPER)
    s = sample_scenario(spec, seed=seed)

    def within(x, r):
        assert r.lo <= x <= r.hi, (x, r)

    for n, ns in zip(s.nodes, spec.nodes):
        for x, r in zip(n.capacity, ns.capacity):
            within(x, r)
    for lk, ls in zip(s.links, spec.links):
        within(lk.rate, ls.rate)
        within(lk.propagation, ls.propagation)
    for m, ms in zip(s.microservices, spec.microservices):
        for x, r in zip(m.resources, ms.resources):
            within(x, r)
        within(m.work, ms.work)
        within(m.output, ms.output)
        for name in ("rate", "shape", "scale"):
            r = getattr(ms, name)
            assert (getattr(m, name) is None) == (r is None)
            if r is not None:
                within(getattr(m, name), r)
    for t, ts in zip(s.task_types, spec.task_types):
        within(t.input_mb, ts.input_mb)
        within(t.deadline_ms, ts.deadline_ms)
    for u, us in zip(s.users, spec.users):
        for x, r in zip(u.rates, us.rates):
            within(x, r)
    # and the Table I numbers themselves (docs/model.md §8.1)
    assert ((s.deadlines >= 50) & (s.deadlines <= 100)).all()
    assert ((s.base_rates >= 0.15) & (s.base_rates <= 1.5)).all()
    assert all(0.1 <= lk.rate <= 1.0 and lk.propagation == 0.0 for lk in s.links)


PAPER_DAGS = {  # docs/model.md §2, parent -> child
    "open_qa": {("text_pre", "text_enc"), ("text_enc", "projection_c"), ("projection_c", "reasoning"),
                ("reasoning", "post_qa")},
    "cross_modal": {("text_pre", "text_enc"), ("image_pre", "image_enc"), ("text_enc", "projection_c"),
                    ("image_enc", "projection_c"), ("projection_c", "fusion"), ("fusion", "post_crossmodal")},
    "classification": {("image_pre", "image_enc"), ("image_enc", "projection_l"), ("projection_l", "reasoning"),
                       ("reasoning", "post_classif")},
    "driving": {("image_pre", "image_enc"), ("audio_pre", "audio_enc"), ("audio_enc", "compression"),
                ("image_enc", "projection_c"), ("compression", "projection_c"), ("projection_c", "fusion"),
                ("fusion", "post_driving")},
}
PAPER_SINKS = {"open_qa": "post_qa", "cross_modal": "post_crossmodal", "classification": "post_classif",
               "driving": "post_driving"}
PAPER_CORE = {"text_enc", "image_enc", "audio_enc", "projection_c", "fusion", "reasoning"}


def test_paper_scenario_sizes():
    s = edgefm.load_scenario(PAPER, seed=0)
    sm = s.summary()
    assert (sm["nodes"], sm["ES"], sm["ED"]) == (10, 3, 7)
    assert (sm["core_ms"], sm["light_ms"], sm["task_types"], sm["users"]) == (6, 9, 4, 7)
    assert {s.microservices[i].name for i in s.core_ms} == PAPER_CORE
    assert s.capacity.shape == (10, 4) and s.demand.shape == (15, 4) and s.arrival_rates.shape == (7, 4)
    # one user per ED, gatewayed at it; the 3 ES fully meshed, the EDs attached 3/2/2
    assert sorted(s.nodes[u.gateway].name for u in s.users) == [f"ED{i}" for i in range(1, 8)]
    es = {i for i, n in enumerate(s.nodes) if n.kind == "ES"}
    es_links = {frozenset((lk.u, lk.v)) for lk in s.links if lk.u in es and lk.v in es}
    assert len(es_links) == 3
    attach = sorted(sum(1 for lk in s.links if v in (lk.u, lk.v)) - 2 for v in es)
    assert attach == [2, 2, 3]


def test_paper_task_dags_are_the_four_inverse_trees():
    s = edgefm.load_scenario(PAPER, seed=0)
    assert [t.name for t in s.task_types] == list(PAPER_DAGS)
    for t in s.task_types:
        name = lambda i: s.microservices[t.stages[i]].name  # noqa: E731
        edges = {(name(i), name(c)) for i, c in enumerate(t.child) if c >= 0}
        assert edges == PAPER_DAGS[t.name]
        assert t.child.count(-1) == 1 and name(t.sink) == PAPER_SINKS[t.name]
        assert all(c > i for i, c in enumerate(t.child) if c >= 0)  # topological order
        assert len(set(t.stages)) == t.n_stages
        # every stage reaches the sink
        assert all(i == t.sink or t.descendants(i)[-1] == t.sink for i in range(t.n_stages))
    cm = s.task_types[1]
    pc = cm.stages.index(s.ms_index("projection_c"))
    assert {s.microservices[cm.stages[p]].name for p in cm.parents[pc]} == {"text_enc", "image_enc"}


# =========================================================================== validation errors
def _load_bad(tmp_path, doc, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(edgefm.ScenarioError) as info:
        edgefm.load_spec(path)
    return info.value


def _check(err, field, *reason, source="bad.yaml"):
    """The error is a ScenarioError on one line: 'FILE: FIELD: reason'."""
    assert isinstance(err, edgefm.ScenarioError)
    msg = str(err)
    assert "\n" not in msg and msg.strip() == msg
    assert msg.startswith(f"{source}: {field}: "), msg
    assert err.source == source and err.field == field
    for word in reason:
        assert word in err.reason, (word, msg)


def test_error_missing_field(tmp_path, doc):
    del doc["microservices"][3]["kind"]
    _check(_load_bad(tmp_path, doc), "microservices[3].kind", "missing required field")


def test_error_unknown_field(tmp_path, doc):
    doc["microservices"][3]["work"] = 4.0  # a typo of work_mb
    _check(_load_bad(tmp_path, doc), "microservices[3].work", "unknown field", "work_mb")


def test_error_string_where_number(tmp_path, doc):
    doc["microservices"][4]["work_mb"] = "four"
    _check(_load_bad(tmp_path, doc), "microservices[4].work_mb", "must be a number", "'four'")


def test_error_nan(tmp_path, doc):
    doc["links"]["rate"] = float("nan")  # written as .nan
    _check(_load_bad(tmp_path, doc), "links.rate", "NaN")


def test_error_inf(tmp_path, doc):
    doc["node_classes"]["ES"]["capacity"]["cpu"] = [128, float("inf")]
    _check(_load_bad(tmp_path, doc), "node_classes.ES.capacity.cpu[1]", "finite", "inf")


def test_error_negative_value(tmp_path, doc):
    doc["ms_classes"]["light"]["resources"]["ram"] = -0.5
    _check(_load_bad(tmp_path, doc), "ms_classes.light.resources.ram", ">= 0", "-0.5")


def test_error_empty_range(tmp_path, doc):
    doc["links"]["rate"] = [1.0, 0.1]
    _check(_load_bad(tmp_path, doc), "links.rate", "empty range", "1", "0.1")


def test_error_dag_with_cycle(tmp_path, doc):
    doc["task_types"]["types"][0]["edges"].append(["reasoning", "text_enc"])
    _check(_load_bad(tmp_path, doc), "task_types.types[0].edges", "cycle", "text_enc", "reasoning")


def test_error_ms_with_two_children(tmp_path, doc):
    doc["task_types"]["types"][1]["edges"].append(["text_pre", "image_enc"])
    _check(_load_bad(tmp_path, doc), "task_types.types[1].edges", "inverse tree", "'text_pre'", "2 children")


def test_error_dag_with_two_sinks(tmp_path, doc):
    doc["task_types"]["types"][0]["edges"].append(["image_pre", "image_enc"])  # a second, separate chain
    _check(_load_bad(tmp_path, doc), "task_types.types[0].edges", "inverse tree", "2 sinks", "image_enc",
           "post_qa")


def test_error_ms_used_but_not_defined(tmp_path, doc):
    doc["microservices"] = [m for m in doc["microservices"] if m["name"] != "fusion"]
    _check(_load_bad(tmp_path, doc), "task_types.types[1].edges", "'fusion'", "not defined")


def test_error_user_on_unknown_gateway(tmp_path, doc):
    doc["users"] = {"rate_per_ms": 0.5, "list": [{"name": "alice", "gateway": "ED1"},
                                                  {"name": "bob", "gateway": "ED99"}]}
    _check(_load_bad(tmp_path, doc), "users.list[1].gateway", "unknown node", "'ED99'")


def test_error_disconnected_topology(tmp_path, doc):
    doc["links"]["edges"] = [e for e in doc["links"]["edges"] if "ED7" not in e]
    _check(_load_bad(tmp_path, doc), "links.edges", "disconnected", "ED7")


@pytest.mark.parametrize("where, value, field", [
    ("default", 0, "task_types.deadline_ms"),
    ("default", [0, 100], "task_types.deadline_ms[0]"),
    ("entry", -5, "task_types.types[2].deadline_ms"),
])
def test_error_deadline_not_positive(tmp_path, doc, where, value, field):
    if where == "default":
        doc["task_types"]["deadline_ms"] = value
    else:
        doc["task_types"]["types"][2]["deadline_ms"] = value
    _check(_load_bad(tmp_path, doc), field, "> 0")


@pytest.mark.parametrize("section, index, field", [
    ("nodes", 4, "nodes[4].name"),
    ("microservices", 7, "microservices[7].name"),
    ("task_types", 3, "task_types.types[3].name"),
])
def test_error_duplicate_names(tmp_path, doc, section, index, field):
    items = doc["task_types"]["types"] if section == "task_types" else doc[section]
    items[index]["name"] = items[0]["name"]
    _check(_load_bad(tmp_path, doc), field, "duplicate name", repr(items[0]["name"]))


def test_error_invalid_yaml_syntax(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: paper\nnodes: [{name: ES1, class: ES}\nlinks: {}\n", encoding="utf-8")
    with pytest.raises(edgefm.ScenarioError) as info:
        edgefm.load_spec(path)
    err = info.value
    assert "\n" not in str(err)
    assert str(err).startswith("broken.yaml: line ") and "not valid YAML" in str(err)
    assert err.field.startswith("line ")


def test_error_file_not_found(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(edgefm.ScenarioError) as info:
        edgefm.load_spec(path)
    assert "\n" not in str(info.value)
    assert "nowhere.yaml" in str(info.value) and "file not found" in str(info.value)


def test_every_error_is_an_edgefm_error_and_a_value_error(tmp_path, doc):
    del doc["users"]
    err = _load_bad(tmp_path, doc)
    assert isinstance(err, edgefm.EdgeFMError) and isinstance(err, ValueError)


# --------------------------------------------------------------------------- malformed values and files
# Regression tests: each of these once escaped as a raw exception or a wrong field path.
def test_bug_gateway_given_as_list(tmp_path, doc):
    doc["users"] = {"rate_per_ms": 0.5, "list": [{"name": "alice", "gateway": ["ED1"]}]}
    _check(_load_bad(tmp_path, doc), "users.list[0].gateway", "unknown node")


def test_bug_link_end_given_as_list(tmp_path, doc):
    doc["links"]["edges"].append([["ES1"], "ES2"])
    _check(_load_bad(tmp_path, doc), "links.edges[10].u", "unknown node")


def test_bug_node_class_given_as_list(tmp_path, doc):
    doc["nodes"][0]["class"] = ["ES"]
    _check(_load_bad(tmp_path, doc), "nodes[0].class", "unknown node class")


def test_bug_negative_default_propagation_path(tmp_path, doc):
    doc["links"]["propagation"] = -1.0
    _check(_load_bad(tmp_path, doc), "links.propagation", ">= 0")


def test_bug_stages_given_as_string(tmp_path, doc):
    doc["task_types"]["types"][0] = {"name": "open_qa", "stages": "text_pre"}
    _check(_load_bad(tmp_path, doc), "task_types.types[0].stages", "must be a list")


def test_bug_huge_integer(tmp_path, doc):
    doc["load"] = 10 ** 400
    _check(_load_bad(tmp_path, doc), "load", "finite")


def test_bug_yaml_reader_error_is_multiline(tmp_path):
    path = tmp_path / "ctrl.yaml"
    path.write_text("name: paper\x07\n", encoding="utf-8")
    with pytest.raises(edgefm.ScenarioError) as info:
        edgefm.load_spec(path)
    assert "\n" not in str(info.value)


def test_bug_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(edgefm.ScenarioError, match="latin1.yaml: not UTF-8 text") as info:
        edgefm.load_spec(path)
    assert "\n" not in str(info.value)


def test_bug_path_is_a_directory(tmp_path):
    with pytest.raises(edgefm.ScenarioError, match="not a file") as info:
        edgefm.load_spec(tmp_path)
    assert "\n" not in str(info.value)


def test_stage_used_but_undefined_names_stages(tmp_path, doc):
    doc["task_types"]["types"][0] = {"name": "open_qa", "stages": ["no_such_ms"]}
    _check(_load_bad(tmp_path, doc), "task_types.types[0].stages", "used but not defined")


def test_nan_literal_is_parsed_as_nan():
    # guard for the NaN test above: safe_dump writes .nan, safe_load reads it back as a float NaN
    assert math.isnan(yaml.safe_load(yaml.safe_dump({"x": float("nan")}))["x"])
