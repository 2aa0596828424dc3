"""Two corrections to moto for the pipeline rehearsal, loaded by the moto server process only (rehearsal.test.ts puts
this folder on its PYTHONPATH, so Python imports it at start-up as `sitecustomize`).

1. DynamoDB resource ARNs, the same gap as correction 1 of tests/helpers/moto_server.py: with access control on, moto
authorises a call against the resource "*" unless the service's response class has `_determine_resource`
(moto/core/responses.py, BaseResponse.call_action), and moto/dynamodb/responses.py (DynamoHandler) has none. A
statement scoped to a table ARN never matches "*", so the deployed function's role (serverless.yml:
dynamodb:PutItem/GetItem on its table's ARN) would be refused every write although AWS allows it. Here a call
naming one table is authorised against `arn:<partition>:dynamodb:<region>:<account>:table/<name>`, what AWS
authorises PutItem/GetItem/UpdateItem/DeleteItem/Query/Scan/DescribeTable against (Service Authorization
Reference: the `table` resource type); calls naming several tables (BatchGetItem, BatchWriteItem,
TransactWriteItems) or none stay "*", moto's own behaviour.

2. AWS::ApiGateway::Stage in CloudFormation: moto's Stage (moto/apigateway/models.py) is no CloudFormationModel,
so moto/cloudformation/parsing.py skips the type and a stack's stage is never created (the packaged template
declares its stage `ProductApiStage` with TracingEnabled and MethodSettings, its Deployment has no StageName), and
the REST API has no stage to serve. Here the type creates, updates (a new DeploymentId on each release) and deletes
the stage through moto's own APIGatewayBackend.create_stage / the stage's deployment_id / delete_stage.
MethodSettings (throttling) are not kept: moto's create_stage takes none.

3. Inline policies of a role CloudFormation created: moto keeps them as parsed documents
(moto/iam/models.py, Role.create_from_cloudformation_json), and IAMPolicy (moto/iam/access_control.py) reads a
policy only as JSON text or a dict with `policy_document`: every call of such a role's session (the deployed
function's role) failed with a KeyError (HTTP 500). Here such a document is read as the document it is.
"""

import json
import sys

from typing import Any

from moto.apigateway.models import apigateway_backends
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.responses import DynamoHandler
from moto.iam.access_control import IAMPolicy


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _dynamodb_resource(self: DynamoHandler) -> str:
    body = self.body if isinstance(self.body, dict) else {}
    name = body.get("TableName")
    if not isinstance(name, str) or not name:
        return "*"
    if name.startswith("arn:"):
        return name
    return f"arn:{_partition(self.region)}:dynamodb:{self.region}:{self.current_account}:table/{name}"


DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]


def _id(value: Any) -> Any:
    """A Ref as moto resolves it: the physical ID, or the model itself when it has none (Deployment)."""
    return getattr(value, "id", value)


class CloudFormationApiStage(CloudFormationModel):
    """AWS::ApiGateway::Stage; the resource object CloudFormation keeps is moto's own Stage."""

    # moto's model metaclass files a model under the service its module names (moto/core/base_backend.py)
    __module__ = "moto.apigateway.models"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = {k: _id(v) for k, v in cloudformation_json["Properties"].items()}
        stage = apigateway_backends[account_id][region_name].create_stage(
            function_id=p["RestApiId"],
            stage_name=p["StageName"],
            deploymentId=p["DeploymentId"],
            variables=p.get("Variables"),
            description=p.get("Description", ""),
            tracing_enabled=p.get("TracingEnabled"),
        )
        stage.physical_resource_id = p["StageName"]
        stage.rest_api_id = p["RestApiId"]
        return stage

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        p = {k: _id(v) for k, v in cloudformation_json["Properties"].items()}
        if p["StageName"] != original_resource.name or p["RestApiId"] != original_resource.rest_api_id:
            cls.delete_from_cloudformation_json(original_resource.name, {"Properties": {"RestApiId": original_resource.rest_api_id, "StageName": original_resource.name}}, account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        original_resource.deployment_id = p["DeploymentId"]
        original_resource.tracing_enabled = p.get("TracingEnabled")
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        p = {k: _id(v) for k, v in cloudformation_json["Properties"].items()}
        backend = apigateway_backends[account_id][region_name]
        try:
            backend.delete_stage(p["RestApiId"], p["StageName"])
        except Exception:  # the API or the stage is gone already
            pass


_moto_iam_policy_init = IAMPolicy.__init__


def _iam_policy_init(self: IAMPolicy, policy: Any) -> None:
    if isinstance(policy, dict) and "policy_document" not in policy and "Statement" in policy:
        policy = json.dumps(policy)
    _moto_iam_policy_init(self, policy)


IAMPolicy.__init__ = _iam_policy_init  # type: ignore[method-assign]

sys.stderr.write("moto-rehearsal: DynamoDB calls authorised against their table ARN; AWS::ApiGateway::Stage created\n")
sys.stderr.flush()
