"""JSON Patch bodies (``envs.patch``): AWS API Gateway's ``patchOperations`` and LaunchDarkly's ``body`` change the
fields their paths name, from the schema to the simulator, the gold plans and the teacher."""

from __future__ import annotations

import json

import pytest
from envs_helpers import make_run, s, tool

from agentscaler.contracts import Task
from agentscaler.envs import DomainSimulator, build_domain, build_envs, load_env
from agentscaler.rollouts.teacher import TeacherAgent
from agentscaler.tasks import TaskConfig, build_tasks, check_task

_OPERATION = {"type": "object", "properties": {
    "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
    "path": {"type": "string"}, "value": {"type": "string"}, "from": {"type": "string"}}}


def usage_plans() -> list:
    """AWS API Gateway's usage plans: a create that names the fields, and an update that patches them (its
    operations' values are strings, as AWS sends them)."""
    return [
        tool("CreateUsagePlan", {"name": s(), "description": s(), "throttleEnabled": {"type": "boolean"},
                                 "rateLimit": {"type": "number"}}, ["name"], "Creates a usage plan.",
             http_method="POST", http_path="/usageplans"),
        tool("GetUsagePlans", {}, [], "Gets all the usage plans.", http_method="GET", http_path="/usageplans"),
        tool("UpdateUsagePlan", {"usageplanId": s(), "patchOperations": {"type": "array", "items": _OPERATION}},
             ["usageplanId"], "Updates a usage plan.", http_method="PATCH", http_path="/usageplans/{usageplanId}"),
    ]


def projects() -> list:
    """LaunchDarkly's projects: the patch's ``value`` is typed as an object where its docs replace a name."""
    item = {"type": "object", "properties": {"op": s(), "path": s(), "value": {"type": "object"}},
            "required": ["op", "path", "value"]}
    return [
        tool("postProject", {"name": s(), "key": s()}, ["name", "key"], "Create a project.", http_method="POST",
             http_path="/projects"),
        tool("getProjects", {}, [], "Returns a list of all projects.", http_method="GET", http_path="/projects"),
        tool("getProject", {"projectKey": s()}, ["projectKey"], "Fetch a single project by key.",
             http_method="GET", http_path="/projects/{projectKey}"),
        tool("patchProject", {"projectKey": s(), "body": {"type": "array", "items": item}}, ["projectKey", "body"],
             "Modify a project by ID.", http_method="PATCH", http_path="/projects/{projectKey}"),
    ]


@pytest.fixture(scope="module")
def plans():
    return build_domain(0, usage_plans(), rows=6)


def test_a_patch_list_is_no_column_and_binds_the_fields_a_create_sets(plans):
    assert "patch_operations" not in {c.name for c in plans.table("usageplans").columns}
    bindings = [(b.param, b.column, b.role, b.patch) for b in plans.tool("UpdateUsagePlan").operation.bindings]
    assert bindings == [("usageplanId", "usageplan_id", "eq", None)] + [
        (f"/{param}", column, "value", "patchOperations") for param, column in (
            ("name", "name"), ("description", "description"), ("throttleEnabled", "throttle_enabled"),
            ("rateLimit", "rate_limit"))]
    assert plans.tool("UpdateUsagePlan").executable


def test_the_simulator_applies_replace_and_remove_to_the_fields_the_paths_name(plans):
    sim = DomainSimulator(plans)
    rows = sim.rows("usageplans")
    row = rows[0]
    obs = sim.step({"name": "UpdateUsagePlan", "arguments": {"usageplanId": row["usageplan_id"], "patchOperations": [
        {"op": "replace", "path": "/name", "value": "Gold"},
        {"op": "replace", "path": "/throttleEnabled", "value": "true"},  # AWS's text for a boolean field
        {"op": "replace", "path": "/rate_limit", "value": "12.5"},  # the column's spelling is understood too
        {"op": "remove", "path": "/description"}]}})
    assert not obs.error, obs.observation
    assert json.loads(obs.observation)["updated"][0]["throttle_enabled"] is True
    assert sim.rows("usageplans") == [{**row, "name": "Gold", "throttle_enabled": 1, "rate_limit": 12.5,
                                       "description": None}] + rows[1:]
    assert sim.state_hash() == sim.recompute_hash()


@pytest.mark.parametrize("operations, message", [
    ([{"op": "replace", "path": "/owner", "value": "x"}], "names no field this tool can change"),
    ([{"op": "replace", "path": "/name/first", "value": "x"}], "names no field"),
    ([{"op": "move", "from": "/name", "path": "/description"}], "is not supported here"),
    ([{"op": "rename", "path": "/name"}], "op must be one of"),
    ([{"op": "replace", "path": "/name"}], "needs a 'value'"),
    ([{"path": "/name", "value": "x"}], "op must be one of"),
    (["/name"], "must be an object with an 'op' and a 'path'"),
    ({"op": "replace", "path": "/name", "value": "x"}, "must be a list of JSON Patch operations"),
    ([{"op": "replace", "path": "/throttleEnabled", "value": "maybe"}], "must be a boolean"),
    ([], "needs a value to change"),
])
def test_a_patch_the_tool_cannot_apply_is_an_error_that_changes_nothing(plans, operations, message):
    sim = DomainSimulator(plans)
    before, rows = sim.state_hash(), sim.rows("usageplans")
    obs = sim.step({"name": "UpdateUsagePlan", "arguments": {"usageplanId": rows[0]["usageplan_id"],
                                                             "patchOperations": operations}})
    assert obs.error and message in json.loads(obs.observation)["error"]
    assert sim.state_hash() == before and sim.rows("usageplans") == rows


def test_a_fields_path_is_no_argument_of_its_own(plans):
    """The tool's schema has the list only: ``{"/name": "Gold"}`` beside it is refused, not applied."""
    sim = DomainSimulator(plans)
    before = sim.state_hash()
    obs = sim.step({"name": "UpdateUsagePlan", "arguments": {"usageplanId": sim.rows("usageplans")[0]["usageplan_id"],
                                                             "/name": "Gold"}})
    assert obs.error and "an operation in 'patchOperations'" in json.loads(obs.observation)["error"]
    assert sim.state_hash() == before


def test_gold_plans_pack_their_fields_into_operations_the_schema_and_the_simulator_accept(tmp_path):
    """Both spellings of the operations' value (AWS's string, LaunchDarkly's object) give tasks whose gold calls
    are JSON Patch lists that pass the tool's own schema and replay to the gold state; the agent sees the
    patch list in the tool's schema, never the fields as parameters of their own."""
    run = make_run(tmp_path, [usage_plans(), projects()])
    build_envs(run, rows=8, workers=1)
    build_tasks(run, TaskConfig(per_domain=12, outcomes={"complete": 1.0}, read_only_share=0.0), workers=1)
    patched = {}
    for task in run.read_tasks():
        sim = DomainSimulator(load_env(run.path, task.domain_id))
        assert check_task(sim, task) == [], task.task_id
        for c in task.calls:
            if c["name"] in ("UpdateUsagePlan", "patchProject"):
                operations = c["arguments"]["patchOperations" if c["name"] == "UpdateUsagePlan" else "body"]
                assert operations and all(o["op"] == "replace" and o["path"].startswith("/") for o in operations)
                patched[c["name"]] = operations
        schemas = {t["function"]["name"]: t["function"]["parameters"]["properties"] for t in task.tool_schemas}
        assert not any(p.startswith("/") for props in schemas.values() for p in props)
    assert set(patched) == {"UpdateUsagePlan", "patchProject"}
    assert all(isinstance(o["value"], str) for o in patched["UpdateUsagePlan"])  # AWS: values as text


def test_the_policy_judges_a_patch_as_any_update():
    """The state rules see a patch's fields: a rename to the name another project has breaks the unique rule, and a
    patch that leaves the project as it is breaks the no-change rule; both change nothing."""
    spec = build_domain(0, projects(), rows=4)
    sim = DomainSimulator(spec)
    first, second = sim.rows("projects")[:2]
    before = sim.state_hash()
    for value, kind in ((second["name"], "unique"), (first["name"], "transition")):
        obs = sim.step({"name": "patchProject", "arguments": {"projectKey": first["project_id"], "body": [
            {"op": "replace", "path": "/name", "value": value}]}})
        refusal = json.loads(obs.observation)
        assert obs.error and spec.policy.rule(refusal["rule"]).kind == kind, refusal
    assert sim.state_hash() == before


def test_the_teacher_says_what_a_patch_sets_in_words():
    spec = build_domain(0, projects(), rows=4)
    project = DomainSimulator(spec).rows("projects")[0]
    gold = [{"name": "patchProject", "arguments": {"projectKey": project["project_id"], "body": [
        {"op": "replace", "path": "/name", "value": "Mobile app"}]}}]
    intent = f'Please rename my project {project["project_id"]} to "Mobile app".'
    task = Task(task_id="t", domain_id=0, state_index=0, intent=intent, gold_calls=json.dumps(gold),
                gold_observations="[]", gold_hash="", initial_hash="", writes=True, tools="[]",
                intent_source="template", source=None, seed=0, split="train", scenario="{}")
    message = TeacherAgent(task, spec).next_message([{"role": "system", "content": ""},
                                                    {"role": "user", "content": task.intent}])
    assert 'setting name to "Mobile app"' in message["content"], message
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == gold[0]["arguments"]


def test_a_patch_whose_url_names_its_row_changes_that_row_not_its_parent():
    """LaunchDarkly's ``PATCH /flags/{projectKey}/{featureFlagKey}`` changes a flag: it had been moved onto the
    projects table (a key of another entity and none of its own), which then took every flag column."""
    flags = [tool("postFeatureFlag", {"projectKey": s(), "name": s(), "key": s(), "temporary": {"type": "boolean"}},
                  ["projectKey", "name", "key"], "Creates a feature flag.", http_method="POST",
                  http_path="/flags/{projectKey}"),
             tool("patchFeatureFlag", {"projectKey": s(), "featureFlagKey": s(),
                                       "body": {"type": "array", "items": _OPERATION}},
                  ["projectKey", "featureFlagKey", "body"], "Perform a partial update to a feature.",
                  http_method="PATCH", http_path="/flags/{projectKey}/{featureFlagKey}")]
    spec = build_domain(0, [*projects(), *flags], rows=5)
    patch = spec.tool("patchFeatureFlag")
    assert patch.table == "flags" and patch.executable
    assert [b.param for b in patch.operation.bindings if b.patch] == ["/name", "/key", "/temporary"]
    assert not {"temporary", "feature_flag_key"} & {c.name for c in spec.table("projects").columns}


def test_tables_that_refer_to_a_reference_cycle_come_after_it_and_get_their_links():
    """API Gateway's REST APIs and methods refer to each other; stages refer to a REST API. Stages were
    synthesized first (the first table left once no table was ready), so every stage named no API."""
    from agentscaler.envs import Column, ForeignKey, Table
    from agentscaler.envs.synth import dependency_order

    def table(name: str, *parents: str) -> Table:
        keys = [Column(name=f"{p}_id", type="INTEGER", json_type="integer") for p in parents]
        return Table(name=f"{name}s", entity=name, primary_key=f"{name}_id", columns=[
            Column(name=f"{name}_id", type="INTEGER", json_type="integer"), *keys], foreign_keys=[
            ForeignKey(column=f"{p}_id", table=f"{p}s", ref_column=f"{p}_id") for p in parents])

    tables = [table("stage", "restapi"), table("restapi", "method"), table("method", "restapi"), table("user"),
              table("order", "user")]
    assert [t.name for t in dependency_order(tables)] == ["restapis", "methods", "stages", "users", "orders"]
    assert [t.name for t in dependency_order(tables[3:])] == ["users", "orders"]  # no cycle: parents first
