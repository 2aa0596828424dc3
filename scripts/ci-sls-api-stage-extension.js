"use strict";

// Used by serverless.yml as `resources.extensions: ${file(./scripts/ci-sls-api-stage-extension.js)}`; object keys in
// serverless.yml cannot contain variables, hence this small resolver. It extends two kinds of generated resources:
//
// - The REST API deployment. osls names it `ApiGatewayDeployment<instanceId>` (a per-run timestamp) and gives it
//   `StageName: <stage>`, which makes API Gateway create the stage implicitly. Stage-level throttling and X-Ray then
//   cannot be set through CloudFormation (Deployment.StageDescription is rejected once the stage exists).
//   serverless.yml therefore declares its own AWS::ApiGateway::Stage (ProductApiStage) and this extension removes
//   StageName from the generated deployment, so the stage is owned by exactly one resource.
// - Each function's log group (`<Function>LogGroup`): retained when the function goes away, as the table is. The
//   CloudFormation execution role may not delete log groups (a release must not erase the functions' logs), so
//   CloudFormation must not try.
module.exports = async ({ resolveVariable }) => {
    const instanceId = await resolveVariable("sls:instanceId");
    if (!/^\d+$/.test(String(instanceId))) {
        throw new Error(`unexpected sls:instanceId ${JSON.stringify(instanceId)}`);
    }
    const functions = await resolveVariable("self:functions");
    const retained = { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" };
    // osls' logical ID of a function's log group: the function key with its first letter upper-cased, + "LogGroup".
    const logGroups = Object.keys(functions).map((key) => [`${key.charAt(0).toUpperCase()}${key.slice(1)}LogGroup`, retained]);
    return {
        [`ApiGatewayDeployment${instanceId}`]: {
            Properties: { StageName: { Ref: "AWS::NoValue" } },
        },
        ...Object.fromEntries(logGroups),
    };
};
