"""Scenario model: validated YAML specs and seeded concrete scenarios."""
from .sample import load_scenario, sample_scenario
from .schema import (RESOURCES, ControlParams, Link, Microservice, Node, PlacementParams, Scenario,
                     TaskType, Uplink, User)
from .spec import Range, ScenarioSpec, load_spec, spec_from_dict

__all__ = [
    "RESOURCES", "ControlParams", "Link", "Microservice", "Node", "PlacementParams", "Scenario", "TaskType",
    "Uplink", "User", "Range", "ScenarioSpec", "load_spec", "spec_from_dict", "sample_scenario", "load_scenario",
]
