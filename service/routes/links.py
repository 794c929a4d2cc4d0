"""OpenAPI links between the operations a client chains (a worklist, its top pick, an outcome on it). Targets are
JSON pointers into the document's paths; a requestBody object holds one runtime expression per field (the form
schemathesis' stateful phase reads)."""

from __future__ import annotations

_ENTITY_OP = "#/paths/~1v1~1entities~1{entity_type}~1{entity_id}/get"
_OUTCOME_OP = "#/paths/~1v1~1outcomes/post"
_TOP_PICK = {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/items/0/entity_id"}
ENTITY_LINKS = {
    "RecordOutcome": {
        "operationRef": _OUTCOME_OP,
        "requestBody": {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/entity_id"},
        "description": "record what a visit to this entity found",
    },
}
WORKLIST_LINKS = {
    "TopPick": {"operationRef": _ENTITY_OP, "parameters": _TOP_PICK, "description": "the worklist's first entity"},
    "RecordOutcomeOnTopPick": {
        "operationRef": _OUTCOME_OP,
        "requestBody": {**_TOP_PICK, "worklist_id": "$response.body#/worklist_id"},
        "description": "record what a visit to the worklist's first entity found",
    },
}
OUTCOME_LINKS = {
    "Entity": {
        "operationRef": _ENTITY_OP,
        "parameters": {"entity_type": "$response.body#/entity_type", "entity_id": "$response.body#/entity_id"},
        "description": "the entity the outcome was recorded on",
    },
}
