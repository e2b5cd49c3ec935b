"""Every sandbox answer and every request body the client sends, checked against PocketSmith's official OpenAPI spec.

The official spec (shared/pocketsmith/openapi.json, OpenAPI 3.0; conftest finds it) marks almost nothing
nullable, while the live API sends nulls; the fields below are the documented exceptions
(the community spec's nullable markers, and the official descriptions that say "null is
returned"). On top of the spec, the component schemas are made strict both ways: the sandbox
must send every documented field and no undocumented one, so it cannot drift either way.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from decimal import Decimal

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from importer.errors import ApiError
from importer.pocketsmith.client import PocketSmith

NULLABLE = {
    "Transaction": ["category", "memo", "note", "cheque_number", "is_transfer"],
    "TransactionAccount": ["number", "current_balance_exchange_rate", "safe_balance", "safe_balance_in_base_currency"],
    "Category": ["colour", "parent_id", "is_transfer", "roll_up", "refund_behaviour"],
}
# Fields the live API sends that the official spec lacks (found by the community spec).
EXTRA_PROPERTIES = {"TransactionAccount": {"account_id": {"type": "integer", "nullable": True}}}
# Documented fields the sandbox may leave out: a transaction's category carries no children.
OPTIONAL = {"Category": {"children"}}
STRICT = ["User", "Institution", "TransactionAccount", "Transaction", "Category", "CategoryRule", "Error"]


@pytest.fixture(scope="module")
def spec(openapi_spec_path):
    document = json.loads(openapi_spec_path.read_text())
    schemas = document["components"]["schemas"]
    for name in STRICT:
        schema = schemas[name] = copy.deepcopy(schemas[name])
        properties = schema["properties"]
        properties.update(EXTRA_PROPERTIES.get(name, {}))
        for field in NULLABLE.get(name, []):
            if "$ref" in properties[field]:
                properties[field] = {"anyOf": [properties[field],
                                               {"type": "object", "nullable": True, "enum": [None]}]}
            else:
                properties[field]["nullable"] = True
        schema["additionalProperties"] = False
        schema["required"] = sorted(set(properties) - OPTIONAL.get(name, set()) - set(EXTRA_PROPERTIES.get(name, {})))
    return document


def _validate(spec, schema: dict, instance, what: str) -> None:
    root = {"components": spec["components"], "allOf": [schema]}
    errors = sorted(OAS30Validator(root).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, f"{what}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:8])


def _template(spec, path: str) -> str:
    route = path.removeprefix("/v2")
    for template in spec["paths"]:
        if re.fullmatch(re.sub(r"\{[a-z_]+\}", r"\\d+", template), route):
            return template
    raise AssertionError(f"{path} is not in the official spec")


def _response_schema(spec, method: str, template: str, status: int) -> dict | None:
    operation = spec["paths"][template][method.lower()]
    answer = operation["responses"].get(str(status))
    if answer is None:
        assert status >= 400, f"{method} {template} answered {status}, which the spec does not document"
        return {"$ref": "#/components/schemas/Error"}   # 401, 405, 429, 5xx: the common error body
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    content = answer.get("content")
    if content is None:
        return None
    schema = content["application/json"]["schema"]
    if "oneOf" in schema:
        # PUT /transactions/{id}: the spec's "with splits" branch has no required fields, so every
        # answer matches both branches and oneOf fails; we never send splits, so it is the standard one.
        schema = next(branch for branch in schema["oneOf"] if branch.get("description", "").startswith("Standard"))
    return schema


class Recorder(httpx.BaseTransport):
    """A real HTTP transport that keeps every exchange for checking."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response

    def close(self):
        self.inner.close()


def _exercise(sandbox, transport) -> None:
    """Every call the importer makes, the happy paths and each error status."""
    client = PocketSmith(sandbox.url, sandbox.key, transport=transport, backoff=0.001)
    client.me()
    accounts = client.transaction_accounts()
    client.transaction_account(accounts[0].id)
    listed = client.transactions(510001, date(2026, 10, 1), date(2026, 10, 31))
    client.transactions(510002, updated_since="2026-01-01T00:00:00Z", type="debit", search="uber")
    client.get_transaction(listed[0].id)
    created = client.create_transaction(510001, {
        "payee": "The Daily Grind", "amount": Decimal("-4.50"), "date": date(2026, 11, 12), "memo": "CARD 4321",
        "note": "shout", "cheque_number": "000123", "labels": ["coffee", "work"], "category_id": 7011,
        "needs_review": True, "is_transfer": False})
    client.create_transaction(510002, {"payee": "Bakers Delight", "amount": Decimal("1234567.89"),
                                       "date": date(2026, 11, 13)})
    client.update_transaction(created.id, {"payee": "Daily Grind", "amount": Decimal("-9.00"),
                                           "date": date(2026, 11, 11), "labels": ["coffee"], "category_id": 7011,
                                           "note": "two", "memo": "m", "cheque_number": "1",
                                           "needs_review": False, "is_transfer": False})
    # What `undo` of an enriching import sends: the filled fields emptied again.
    client.update_transaction(created.id, {"memo": "", "note": "", "labels": [], "cheque_number": ""})
    client.delete_transaction(created.id)
    categories = client.categories()
    client.create_category("Bakery", parent_id=next(c.id for c in categories if c.title == "Eating Out"))
    client.create_category_rule(7001, "ALDI")
    client.category_rules()
    client.labels()
    other = sandbox.store.add_user(99, "other", "Other", "o@example.com")
    foreign = sandbox.store.add_transaction_account(other, "Not yours")
    failing = [lambda: client.get_transaction(1),                                              # 404
               lambda: client.transaction_account(foreign),                                    # 403
               lambda: client.create_transaction(510001, {"payee": "x", "amount": Decimal("1.001"),
                                                          "date": date(2026, 1, 1)})]          # 422
    for call in failing:
        with pytest.raises(ApiError):
            call()
    sandbox.faults.retry_after = 0.01
    sandbox.faults.inject(429, 500, method="GET")
    client.labels()
    client.close()
    with pytest.raises(ApiError):
        PocketSmith(sandbox.url, "wrong-key", transport=transport).me()                        # 401


def test_sandbox_answers_and_client_requests_follow_the_official_spec(spec, demo_sandbox):
    transport = Recorder()
    _exercise(demo_sandbox, transport)
    covered = set()
    for request, response in transport.exchanges:
        template = _template(spec, request.url.path)
        method = request.method
        covered.add((method, template, response.status_code))
        operation = spec["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not in the spec"
        what = f"{method} {request.url.path} → {response.status_code}"
        if request.content:
            body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
            _validate(spec, body_schema, json.loads(request.content, parse_float=Decimal), "request " + what)
        schema = _response_schema(spec, method, template, response.status_code)
        if schema is None or response.status_code == 204:
            assert response.content == b"", what
        else:
            _validate(spec, schema, json.loads(response.content, parse_float=Decimal), "response " + what)
        if response.status_code >= 400:
            assert set(response.json()) == {"error"}, what
    expected = {("GET", "/me", 200), ("GET", "/users/{id}/transaction_accounts", 200),
                ("GET", "/transaction_accounts/{id}", 200), ("GET", "/transaction_accounts/{id}/transactions", 200),
                ("POST", "/transaction_accounts/{id}/transactions", 201), ("GET", "/transactions/{id}", 200),
                ("PUT", "/transactions/{id}", 200), ("DELETE", "/transactions/{id}", 204),
                ("GET", "/users/{id}/categories", 200), ("POST", "/users/{id}/categories", 201),
                ("GET", "/users/{id}/category_rules", 200), ("POST", "/categories/{id}/category_rules", 200),
                ("GET", "/users/{id}/labels", 200), ("GET", "/transactions/{id}", 404),
                ("GET", "/transaction_accounts/{id}", 403), ("POST", "/transaction_accounts/{id}/transactions", 422),
                ("GET", "/users/{id}/labels", 429), ("GET", "/users/{id}/labels", 500), ("GET", "/me", 401)}
    assert expected <= covered, f"not exercised: {sorted(expected - covered)}"


def test_the_strict_schemas_do_catch_drift(spec):
    account = {"id": 1, "name": "A", "number": None, "current_balance": 1, "current_balance_date": "2026-01-01",
               "current_balance_in_base_currency": 1, "current_balance_exchange_rate": None, "safe_balance": None,
               "safe_balance_in_base_currency": None, "starting_balance": 0, "starting_balance_date": "2026-01-01",
               "created_at": "x", "updated_at": "x", "currency_code": "AUD", "type": "bank",
               "institution": {"id": 1, "title": "B", "currency_code": "AUD", "created_at": "x", "updated_at": "x"}}
    schema = {"$ref": "#/components/schemas/TransactionAccount"}
    _validate(spec, schema, account, "a complete account")
    for broken in ({**account, "invented": 1}, {k: v for k, v in account.items() if k != "currency_code"},
                   {**account, "current_balance": "1.00"}, {**account, "name": None}):
        with pytest.raises(AssertionError):
            _validate(spec, schema, broken, "drifted")
    create = spec["paths"]["/transaction_accounts/{id}/transactions"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    with pytest.raises(AssertionError):
        _validate(spec, create, {"payee": "x", "amount": 1, "date": "2026-01-01", "labels": ["a"]}, "labels as list")
