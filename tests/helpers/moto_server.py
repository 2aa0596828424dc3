"""moto's server, with seven corrections where moto departs from AWS on the path the deploy takes.

Started by tests/helpers/moto.ts as `python3 tests/helpers/moto_server.py -H 127.0.0.1 -p PORT`, with moto
importable: an installed `moto[server]` 5.2.x, or PYTHONPATH set to a copy of its source (../shared/vendor/moto).
Each correction is below, next to its code, with the moto source it answers. In short:
  1. resource ARNs for CloudFormation, Lambda and SNS requests, so access control can evaluate scoped statements;
  2. S3 HeadBucket authorised as s3:ListBucket, DeleteObjects as s3:DeleteObject on each key: what AWS checks;
  3. signatures verified against the canonical (URI-encoded) path and query, as SigV4 defines them;
  4. a change set's stack outputs rebuilt from its new template;
  5. a change set executed in CloudFormation's order, and rolled back when a resource it adds fails;
  6. properties some CloudFormation handlers drop (function architecture and tracing, table PITR and SSE) kept;
  7. ValidateTemplate checking what AWS checks, the template's format, whether or not cfn-lint is installed.
Policy evaluation, signature checking and every resource handler stay moto's own. Refusals are logged as
`moto-iam: denied <principal> <action> <resource>` so that tests can say which statement was missing.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import moto
import xmltodict
from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Event, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.iam.access_control import IAMRequestBase, S3IAMRequest
from moto.s3 import responses as s3_responses
from moto.s3.responses import S3Response
from moto.server import main
from moto.sns.responses import SNSResponse


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

if __name__ == "__main__":
    print(f"moto {moto.__version__} from {moto.__file__}", flush=True)
    main(sys.argv[1:])
