#!/usr/bin/env python3
"""Validates OSCAL JSON documents with compliance-trestle, whose pydantic models are generated from
NIST's OSCAL schemas (extra fields, bad enumerations and malformed UUIDs are rejected).

Usage: check-oscal.py FILE.json...   Exit 0 when every document is valid; prints one line per file."""
import json
import pathlib
import sys

from trestle.oscal import assessment_plan, assessment_results, catalog, component, mapping, profile, ssp

MODELS = {
    "catalog": catalog.Catalog,
    "profile": profile.Profile,
    "component-definition": component.ComponentDefinition,
    "system-security-plan": ssp.SystemSecurityPlan,
    "assessment-plan": assessment_plan.AssessmentPlan,
    "assessment-results": assessment_results.AssessmentResults,
    "mapping-collection": mapping.MappingCollection,
}

ok = True
for name in sys.argv[1:]:
    doc = json.loads(pathlib.Path(name).read_text())
    if len(doc) != 1 or next(iter(doc)) not in MODELS:
        print(f"INVALID {name}: the root must be exactly one of {sorted(MODELS)}")
        ok = False
        continue
    (root, body), = doc.items()
    try:
        MODELS[root].model_validate(body)
        print(f"valid {root} {name}")
    except Exception as e:  # pydantic.ValidationError, with every path that failed
        ok = False
        print(f"INVALID {root} {name}\n{e}")
sys.exit(0 if ok else 1)
