"""moto's server, with eight corrections where moto departs from AWS on the path the deploy takes.

Started by tests/helpers/moto.ts as `python3 tests/helpers/moto_server.py -H 127.0.0.1 -p PORT`, with moto
importable: an installed `moto[server]` 5.2.x, or PYTHONPATH set to a copy of its source (../shared/vendor/moto).
Each correction is below, next to its code, with the moto source it answers. In short:
  1. resource ARNs for CloudFormation, Lambda and SNS requests, so access control can evaluate scoped statements;
  2. S3 HeadBucket authorised as s3:ListBucket, DeleteObjects as s3:DeleteObject on each key: what AWS checks;
  3. signatures verified against the canonical (URI-encoded) path and query, as SigV4 defines them;
  4. a change set's stack outputs rebuilt from its new template;
  5. a change set executed in CloudFormation's order, and rolled back when a resource it adds fails;
  6. properties some CloudFormation handlers drop (function architecture and tracing, table PITR and SSE) kept;
  7. ValidateTemplate checking what AWS checks, the template's format, whether or not cfn-lint is installed;
  8. sts:AssumeRole checked against the role's trust policy, and POST /moto-api/assume-role-as-service for an
     AWS service (Lambda, CodeBuild) to assume a role that trusts it.
Identity-policy evaluation, signature checking and every resource handler stay moto's own. Refusals are logged as
`moto-iam: denied <principal> <action> <resource>` (a trust policy's: `... (trust policy): <reason>`) so that
tests can say which statement was missing.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import moto
import xmltodict
from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.exceptions import AccessDeniedError
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.iam.access_control import AssumedRoleAccessKey, IAMRequestBase, S3IAMRequest
from moto.iam.exceptions import NotFoundException
from moto.iam.models import Role, iam_backends
from moto.moto_api._internal import urls as moto_api_urls
from moto.organizations.models import organizations_backends
from moto.s3 import responses as s3_responses
from moto.s3.responses import S3Response
from moto.server import main
from moto.sns.responses import SNSResponse
from moto.sts.models import sts_backends


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# ---- 1. resource ARNs ------------------------------------------------------------------------------------
# With access control on (INITIAL_NO_AUTH_ACTION_COUNT) moto evaluates the caller's IAM policies, but against
# the resource "*" unless a service's response class has `_determine_resource` (moto/core/responses.py,
# call_action); only IAM, STS, SQS and S3 have one. A statement scoped to an ARN never matches "*", so the
# deploy role would be refused all but its one `Resource: "*"` statement. These give the ARN AWS authorises
# the call against (Service Authorization Reference: the `stack`, `function` and `topic` resource types).

# A stack not created yet has no ID; AWS authorises its creation against stack/<name>/<new id>.
NEW_STACK_ID = "00000000-0000-0000-0000-000000000000"


def _cloudformation_resource(self: CloudFormationResponse) -> str:
    name = self.querystring.get("StackName", [None])[0]
    change_set = self.querystring.get("ChangeSetName", [None])[0]
    if not name and change_set and change_set.startswith("arn:"):
        # Describe/Execute/DeleteChangeSet by change set ARN alone: AWS authorises them against the change
        # set's stack (Service Authorization Reference: these actions take the `stack` resource type).
        for candidate in self.cloudformation_backend.change_sets.values():
            if candidate.change_set_id == change_set:
                return candidate.stack_id
    if not name:
        return "*"  # e.g. ValidateTemplate: no resource-level permission in AWS either
    if name.startswith("arn:"):
        return name
    try:
        return self.cloudformation_backend.get_stack(name).stack_id
    except ValidationError:  # no such stack (yet)
        return f"arn:{_partition(self.region)}:cloudformation:{self.region}:{self.current_account}:stack/{name}/{NEW_STACK_ID}"


FUNCTION_IN_PATH = re.compile(r"^/[^/]+/functions/([^/?]+)")


def _lambda_resource(self: LambdaResponse) -> str:
    found = FUNCTION_IN_PATH.match(self.path)
    if not found:
        return "*"  # account-level calls such as ListFunctions
    name = unquote(found.group(1))
    if name.startswith("arn:"):
        return name
    return f"arn:{_partition(self.region)}:lambda:{self.region}:{self.current_account}:function:{name}"


def _sns_resource(self: SNSResponse) -> str:
    return self.querystring.get("TopicArn", ["*"])[0]  # Publish, Subscribe, GetTopicAttributes, ...


CloudFormationResponse._determine_resource = _cloudformation_resource  # type: ignore[attr-defined]
LambdaResponse._determine_resource = _lambda_resource  # type: ignore[attr-defined]
SNSResponse._determine_resource = _sns_resource  # type: ignore[attr-defined]

# ---- 2. HeadBucket and DeleteObjects -----------------------------------------------------------------------
# moto authorises HeadBucket as "s3:HeadBucket" (moto/s3/responses.py, ACTION_MAP["BUCKET"]["HEAD"]), an action
# IAM does not have; AWS authorises HeadBucket with s3:ListBucket.
s3_responses.ACTION_MAP["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"

# moto authorises a multi-object delete (POST ?delete) as s3:DeleteObject on the bucket ARN
# (S3Response._bucket_response_post), which a statement scoped to objects never matches; AWS checks
# s3:DeleteObject on each key. Here each key is authorised; if one is refused, moto's own refusal path answers
# (AccessDenied for every key of the request, where AWS would refuse only that key's).
_moto_authorize_s3 = S3Response._authenticate_and_authorize_s3_action


def _authorize_s3(self: S3Response, bucket_name: str | None = None, key_name: str | None = None) -> None:
    if key_name is None and self.data.get("Action") == "DeleteObject" and "delete" in self.querystring:
        objects = xmltodict.parse(self.body, strip_whitespace=False).get("Delete", {}).get("Object", [])
        for obj in objects if isinstance(objects, list) else [objects]:
            _moto_authorize_s3(self, bucket_name=bucket_name, key_name=obj["Key"])
        return
    _moto_authorize_s3(self, bucket_name=bucket_name, key_name=key_name)


S3Response._authenticate_and_authorize_s3_action = _authorize_s3  # type: ignore[method-assign]

# ---- 3. canonical path and query ---------------------------------------------------------------------------
# moto recomputes a signature from the path and query as it holds them (moto/iam/access_control.py,
# _create_aws_request; botocore's SigV4Auth._canonical_query_string_url does not re-encode). SigV4 signs them
# canonicalised: each query name and value URI-encoded, and for S3 each path segment. osls' S3 client sends
# `prefix=serverless/...` with raw slashes but signs `%2F`, and its artifact keys hold `:` (a timestamp) that
# moto holds decoded, so moto would refuse correctly signed requests.


def _canonical_query(query: str) -> str:
    def encode(part: str) -> str:
        return quote(unquote(part), safe="-_.~")

    pairs = (pair.partition("=") for pair in query.split("&") if pair)
    return "&".join(f"{encode(key)}={encode(value)}" for key, _, value in pairs)


_moto_create_aws_request = IAMRequestBase._create_aws_request


def _create_aws_request(self: IAMRequestBase) -> Any:
    request = _moto_create_aws_request(self)
    parts = urlsplit(request.url)
    path = quote(unquote(parts.path), safe="/~") if isinstance(self, S3IAMRequest) else parts.path
    request.url = urlunsplit(parts._replace(path=path, query=_canonical_query(parts.query)))
    return request


IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]

_moto_check_action_permitted = IAMRequestBase.check_action_permitted


def _check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    try:
        _moto_check_action_permitted(self, resource)
    except Exception:
        # one write per line: requests are served on several threads
        sys.stderr.write(f"moto-iam: denied {self._access_key.arn} {self._action} {resource}\n")
        sys.stderr.flush()
        raise


IAMRequestBase.check_action_permitted = _check_action_permitted  # type: ignore[method-assign]

# ---- 4. and 5. executing a change set ----------------------------------------------------------------------
# moto's execute_change_set (moto/cloudformation/models.py) applies the new template and sets stack.template,
# but (4) never rebuilds the stack's outputs, so a stack created through a change set (what `sls deploy` does)
# has no ServiceEndpoint output; and (5) has no rollback ("TODO: handle execution errors and implement
# rollback"): a failing resource turns ExecuteChangeSet into an HTTP 500 and leaves the stack half-updated,
# after moto already deleted the resources the new template drops (ResourceMap.update removes first).
# CloudFormation executes asynchronously: it creates and updates, deletes what the template drops only in the
# cleanup after success, and on a failure reports it in the stack events and rolls back. Here: the same
# order on moto's own ResourceMap.update, and a rollback when a resource this change set adds fails (moto
# creates all additions before it modifies anything, so nothing else has changed yet). A failure while moto
# modifies a resource is left as moto's HTTP 500: that cannot be undone here, and no rollback is faked.


def _find_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> ChangeSet:
    for change_set in backend.change_sets.values():
        if name in (change_set.change_set_id, change_set.change_set_name):
            return change_set
    raise ValidationError(stack_name)


def _execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    verb = change_set.change_set_type  # CREATE or UPDATE
    resources = stack.resource_map
    new_template = change_set.template_dict
    diff = resources.build_resource_diff(new_template, change_set.parameters)
    before = (resources._template, resources._resource_json_map, dict(resources._parsed_resources), resources.input_parameters)

    stack._add_stack_event(f"{verb}_IN_PROGRESS", resource_status_reason="User Initiated")
    dropped = {name: resources._resource_json_map[name] for name in diff["Remove"]}
    try:
        resources.update({**new_template, "Resources": {**new_template["Resources"], **dropped}}, change_set.parameters)
    except Exception as error:
        failed = [name for name in diff["Add"] if name not in resources._parsed_resources]
        if not failed:
            raise
        added = [name for name in diff["Add"] if name in resources._parsed_resources]
        _roll_back(stack, change_set, before, added, failed[0], f"{type(error).__name__}: {_message(error)}")
        return
    if dropped:  # cleanup, once everything else succeeded
        resources.update(new_template, change_set.parameters)
    stack._add_stack_event(f"{verb}_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE"
    stack.status = f"{verb}_COMPLETE"
    stack.template = change_set.template
    stack._parse_template()
    stack.output_map = stack._create_output_map()


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or getattr(error, "description", None) or error)


def _roll_back(stack: Stack, change_set: ChangeSet, before: tuple, added: list[str], failed: str, reason: str) -> None:
    resources = stack.resource_map
    new_json = change_set.template_dict["Resources"]
    prefix = "" if change_set.change_set_type == "CREATE" else "UPDATE_"

    def event(logical_id: str, resource_type: str, status: str, why: str | None = None) -> None:
        physical = stack.stack_id if logical_id == stack.name else logical_id
        stack.events.append(Event(stack.stack_id, stack.name, logical_id, physical, resource_type, status, why, None))

    event(failed, new_json[failed]["Type"], "CREATE_FAILED", reason)
    event(
        stack.name,
        "AWS::CloudFormation::Stack",
        f"{prefix}ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{failed}]. Rollback requested by user.",
    )
    for name in reversed(added):
        resources._delete_resource(resources._parsed_resources.pop(name), new_json[name])
        event(name, new_json[name]["Type"], "DELETE_COMPLETE")
    resources._template, resources._resource_json_map, parsed, resources.input_parameters = before
    resources._parsed_resources.clear()
    resources._parsed_resources.update(parsed)
    resources.load_mapping()
    resources.load_parameters()
    resources.load_conditions()
    event(stack.name, "AWS::CloudFormation::Stack", f"{prefix}ROLLBACK_COMPLETE")
    stack.status = f"{prefix}ROLLBACK_COMPLETE"
    change_set.execution_status = "EXECUTE_FAILED"


CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]

# ---- 6. resource properties --------------------------------------------------------------------------------
# Some of moto's CloudFormation handlers drop properties that its own API supports:
#   - AWS::Lambda::Function passes only some properties on to create_function (moto/awslambda/models.py,
#     LambdaFunction.create_from_cloudformation_json, optional_properties): an arm64 function with active tracing
#     would come out x86_64 with PassThrough;
#   - AWS::DynamoDB::Table (moto/dynamodb/models/table.py, Table.create_from_cloudformation_json) ignores
#     PointInTimeRecoverySpecification (every table starts DISABLED), and hands SSESpecification on as is, where
#     the API's `Enabled` is CloudFormation's `SSEEnabled`.
# Here they reach moto's own Lambda and DynamoDB models, as the API would set them.


def _function_properties(function: LambdaFunction, properties: dict[str, Any]) -> LambdaFunction:
    if "Architectures" in properties:
        function.architectures = properties["Architectures"]
    if "TracingConfig" in properties:
        function.tracing_config = properties["TracingConfig"]
    return function


def _wrap_cloudformation_handler(cls: type, method: str, after: Any, before: Any = None) -> None:
    original = getattr(cls, method).__func__
    signature = inspect.signature(original)

    def handler(klass: type, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(klass, *args, **kwargs)
        if before:
            call.arguments["cloudformation_json"] = before(call.arguments["cloudformation_json"])
        resource = original(*call.args, **call.kwargs)
        return after(resource, call.arguments["cloudformation_json"]["Properties"])

    setattr(cls, method, classmethod(handler))


def _table_sse(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    properties = dict(cloudformation_json["Properties"])
    sse = properties.get("SSESpecification")
    if sse and "SSEEnabled" in sse:
        properties["SSESpecification"] = {"Enabled": sse["SSEEnabled"], **{k: v for k, v in sse.items() if k != "SSEEnabled"}}
    return {**cloudformation_json, "Properties": properties}


def _table_properties(table: Table, properties: dict[str, Any]) -> Table:
    spec = properties.get("PointInTimeRecoverySpecification")
    if spec:
        dynamodb_backends[table.account_id][table.region_name].update_continuous_backups(table.name, spec)
    return table


for _method in ("create_from_cloudformation_json", "update_from_cloudformation_json"):
    _wrap_cloudformation_handler(LambdaFunction, _method, _function_properties)
_wrap_cloudformation_handler(Table, "create_from_cloudformation_json", _table_properties, _table_sse)

# ---- 7. ValidateTemplate ------------------------------------------------------------------------------------
# moto validates a template with cfn-lint (moto/cloudformation/utils.py, validate_template_cfn_lint): without
# cfn-lint installed the call fails with an ImportError (HTTP 500), and with it the call refuses templates that
# CloudFormation accepts (cfn-lint's rules go beyond the format check AWS makes; for instance it rejects two
# resources with one table name, which CloudFormation only finds when it creates the second). ValidateTemplate
# checks the template's format: JSON or YAML with a Resources map. So does this, whichever Python runs moto.


class _Problem:
    def __init__(self, message: str):
        self.message = message


def _validate_template(self: CloudFormationBackend, template: str) -> list[_Problem]:
    try:
        parsed = Stack.parse_template(template)
    except Exception as error:
        return [_Problem(f"Template format error: {error}")]
    if not isinstance(parsed, dict) or not isinstance(parsed.get("Resources"), dict) or not parsed["Resources"]:
        return [_Problem("Template format error: At least one Resources member must be defined.")]
    return []


CloudFormationBackend.validate_template = _validate_template  # type: ignore[method-assign]

# ---- 8. trust policies -------------------------------------------------------------------------------------
# moto never evaluates a trust policy for a cross-account AssumeRole: IAMRequestBase.check_action_permitted
# (moto/iam/access_control.py) looks the role up in the *caller's* account only, so any caller with an identity
# Allow gets a session of another account's role. For a role of its own account it compares the caller's ARN
# verbatim with Principal.AWS (_check_principal), so an account-root principal never matches and a Service
# principal raises a TypeError, and of the condition operators it knows only StringEquals
# (moto/iam/policy_conditions.py). Here moto's identity check stays as it is (AWS requires the identity policy
# too, including for a role of the caller's own account that trusts the account root) and, once it allowed the
# call, the role's trust policy is evaluated as AWS does: an explicit Deny wins, else an Allow must match the
# principal, the action and every condition. As moto's identity checks, this applies once access control is on.
#
# Nothing can sign a request as an AWS service, so POST /moto-api/assume-role-as-service stands in for a
# service assuming a role (Lambda a function's execution role, CodeBuild a project's service role): it evaluates
# the trust policy for that Service principal and answers moto-issued credentials of the role, or 403.

ASSUME_ROLE = "sts:AssumeRole"


class _Malformed(Exception):
    """A trust policy this evaluation cannot read: the call is refused, never allowed by default."""


def _values(element: Any) -> list[str]:
    items = element if isinstance(element, list) else [element]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def _arn_like(pattern: str, value: str) -> bool:
    # ArnEquals and ArnLike alike: each of the six colon-separated parts is matched on its own, with * and ?
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    return len(pattern_parts) == len(value_parts) == 6 and all(map(fnmatchcase, value_parts, pattern_parts))


# operator → (does one policy value match the request's value, is the operator negated)
CONDITION_OPERATORS = {
    "StringEquals": (lambda policy, value: policy == value, False),
    "StringNotEquals": (lambda policy, value: policy == value, True),
    "StringLike": (lambda policy, value: fnmatchcase(value, policy), False),
    "StringNotLike": (lambda policy, value: fnmatchcase(value, policy), True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda policy, value: policy.lower() == value.lower(), False),
}


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, list[str]]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in CONDITION_OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise _Malformed(f"condition operator {operator} is not evaluated here")
    matches, negated = CONDITION_OPERATORS[name]
    actual = context.get(key.lower())  # condition keys are case-insensitive
    if actual is None:
        # AWS: an absent key fails a condition, except a negated one, ...IfExists, and ForAllValues (vacuously true)
        return if_exists or qualifier == "ForAllValues" or (negated and qualifier == "")
    policy_values = _values(expected)

    def one(value: str) -> bool:
        return any(matches(p, value) for p in policy_values) != negated  # negated with several values: NOR

    return all(map(one, actual)) if qualifier == "ForAllValues" else any(map(one, actual))


def _principal_matches(principal: Any, caller: dict[str, str]) -> bool:
    """caller: {"service": ...} for an AWS service, else {"account", "arn" (user or role), "session"}."""
    if principal == "*":
        return True
    if not isinstance(principal, dict) or not principal:
        raise _Malformed(f"Principal {json.dumps(principal)} is not a principal")
    if "service" in caller:
        return caller["service"] in _values(principal.get("Service", []))
    for name in _values(principal.get("AWS", [])):
        if name == "*" or name in (caller["arn"], caller.get("session")):
            return True
        if name in (caller["account"], f"arn:{caller['partition']}:iam::{caller['account']}:root"):
            return True
    return False


def _statement_applies(statement: Any, caller: dict[str, str], context: dict[str, list[str]]) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
        raise _Malformed(f"statement {json.dumps(statement)} has no Effect Allow or Deny")
    if "Principal" not in statement or "Action" not in statement:
        raise _Malformed(f"statement {json.dumps(statement)} needs a Principal and an Action (NotPrincipal, NotAction: not evaluated here)")
    if not any(fnmatchcase(ASSUME_ROLE.lower(), a.lower()) for a in _values(statement["Action"])):
        return False
    if not _principal_matches(statement["Principal"], caller):
        return False
    conditions = statement.get("Condition", {})
    if not isinstance(conditions, dict) or not all(isinstance(keys, dict) for keys in conditions.values()):
        raise _Malformed(f"Condition {json.dumps(conditions)} is not a map of operators to maps of keys")
    return all(
        _condition_holds(operator, key, expected, context) for operator, keys in conditions.items() for key, expected in keys.items()
    )


def _trust_document(role: Role) -> Any:
    document = role.assume_role_policy_document
    for text in (document, unquote(document)):  # as given, or URL-encoded as GetRole returns it
        try:
            return json.loads(text)
        except ValueError:
            continue
    raise _Malformed("it is not JSON")


def _trust_refusal(role: Role, caller: dict[str, str], context: dict[str, list[str]]) -> str | None:
    """Why the role's trust policy refuses the caller, or None when it allows."""
    try:
        trust = _trust_document(role)
        statements = trust.get("Statement") if isinstance(trust, dict) else None
        if not statements:
            raise _Malformed("it has no Statement")
        statements = statements if isinstance(statements, list) else [statements]
        applying = [statement for statement in statements if _statement_applies(statement, caller, context)]
    except _Malformed as error:
        return f"the trust policy cannot be evaluated: {error}"
    if any(s["Effect"] == "Deny" for s in applying):
        return "a statement denies it"
    if not applying:
        return "no statement allows it"
    return None


def _role(role_arn: str) -> Role | None:
    parts = role_arn.split(":")
    if len(parts) < 6:
        return None
    try:
        return iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)
    except (NotFoundException, KeyError):
        return None


def _organization_id(account: str, partition: str) -> str | None:
    try:
        return organizations_backends[account][partition].describe_organization()["Organization"]["Id"]
    except Exception:  # moto's AWSOrganizationsNotInUseException: the account is in no organization
        return None


def _deny_log(principal: str, role_arn: str, reason: str) -> None:
    sys.stderr.write(f"moto-iam: denied {principal} {ASSUME_ROLE} {role_arn} (trust policy): {reason}\n")
    sys.stderr.flush()


def _caller(request: IAMRequestBase) -> dict[str, str]:
    """The calling principal: aws:PrincipalArn is a user's ARN, or for a role session the role's (with its path)."""
    key = request._access_key
    partition = key.partition
    if isinstance(key, AssumedRoleAccessKey):
        session = sts_backends[key.account_id][partition].get_assumed_role_from_access_key(key._access_key_id)
        role = _role(session.role_arn) if session else None
        arn = role.arn if role else (session.role_arn if session else key.arn)
        return {"account": key.account_id, "partition": partition, "arn": arn, "session": key.arn}
    user = iam_backends[key.account_id][partition].get_user(key._owner_user_name)
    return {"account": key.account_id, "partition": partition, "arn": user.arn}


def _context(**keys: str | None) -> dict[str, list[str]]:
    return {name.lower(): [value] for name, value in keys.items() if value is not None}


def _check_trust(self: IAMRequestBase, resource: str) -> None:
    _check_identity(self, resource)
    if self._action != ASSUME_ROLE:
        return
    caller = _caller(self)
    role = _role(resource)
    external_id = self._data.get("ExternalId")
    context = _context(
        **{
            "aws:PrincipalArn": caller["arn"],
            "aws:PrincipalAccount": caller["account"],
            "aws:PrincipalOrgID": _organization_id(caller["account"], caller["partition"]),
            "aws:PrincipalIsAWSService": "false",
            "sts:ExternalId": external_id[0] if isinstance(external_id, list) else external_id,
        }
    )
    reason = _trust_refusal(role, caller, context) if role else "the role does not exist"
    if reason:
        _deny_log(self._access_key.arn, resource, reason)
        # AWS's wording: moto's error says "User: <arn> is not authorized to perform: <action>", AWS adds the role
        raise AccessDeniedError(user_arn=self._access_key.arn, action=f"{ASSUME_ROLE} on resource: {resource}")


_check_identity = IAMRequestBase.check_action_permitted
IAMRequestBase.check_action_permitted = _check_trust  # type: ignore[method-assign]
# moto's own partial trust check (above) would refuse an account-root principal before this one runs
IAMRequestBase._is_assuming_role_operation = lambda self, resource: False  # type: ignore[method-assign]

SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
REGION_OF_PARTITION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def _json_answer(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _assume_role_as_service(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    if request.method != "POST":
        return _json_answer(405, {"message": "POST a JSON body {service, roleArn, sessionName, sourceAccount?, sourceArn?}"})
    try:
        args = json.loads(request.get_data() or b"null")
    except ValueError as error:
        return _json_answer(400, {"message": f"the body is not JSON: {error}"})
    if not isinstance(args, dict):
        return _json_answer(400, {"message": "the body must be a JSON object {service, roleArn, sessionName, ...}"})
    service, role_arn, session_name = args.get("service"), args.get("roleArn"), args.get("sessionName")
    source_account, source_arn = args.get("sourceAccount"), args.get("sourceArn")
    duration = args.get("durationSeconds", 3600)
    checks = [
        (isinstance(service, str) and service.endswith(".amazonaws.com"), "service must be a service principal, e.g. lambda.amazonaws.com"),
        (isinstance(role_arn, str) and ":role/" in role_arn, "roleArn must be a role ARN"),
        (isinstance(session_name, str) and SESSION_NAME.match(session_name), "sessionName must be 2-64 characters of [\\w+=,.@-]"),
        (
            source_account is None or (isinstance(source_account, str) and re.fullmatch(r"\d{12}", source_account)),
            "sourceAccount must be a 12-digit account ID",
        ),
        (source_arn is None or (isinstance(source_arn, str) and source_arn.startswith("arn:")), "sourceArn must be an ARN"),
        (isinstance(duration, int) and 900 <= duration <= 43200, "durationSeconds must be an integer from 900 to 43200"),
    ]
    problems = [message for passed, message in checks if not passed]
    if problems:
        return _json_answer(400, {"message": "; ".join(problems)})
    role = _role(role_arn)
    context = _context(
        **{
            "aws:PrincipalServiceName": service,
            "aws:PrincipalIsAWSService": "true",
            "aws:SourceAccount": source_account,
            "aws:SourceArn": source_arn,
        }
    )
    reason = _trust_refusal(role, {"service": service}, context) if role else "the role does not exist"
    if reason:
        _deny_log(service, role_arn, reason)
        return _json_answer(403, {"message": f"{service} is not authorized to perform: {ASSUME_ROLE} on resource: {role_arn}: {reason}"})
    partition = role_arn.split(":")[1]
    account = role_arn.split(":")[4]
    session = sts_backends[account][partition].assume_role(
        region_name=REGION_OF_PARTITION.get(partition, "us-east-1"),
        role_session_name=session_name,
        role_arn=role.arn,
        policy=None,
        duration=duration,
        external_id=None,
    )
    return _json_answer(
        200,
        {
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": session.expiration.isoformat().replace("+00:00", "") + "Z",
            "Arn": session.arn,
        },
    )


moto_api_urls.url_paths["{0}/moto-api/assume-role-as-service"] = _assume_role_as_service


if __name__ == "__main__":
    print(f"moto {moto.__version__} from {moto.__file__}", flush=True)
    main(sys.argv[1:])
