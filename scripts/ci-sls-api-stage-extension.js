"use strict";

// Used by serverless.yml as `resources.extensions: ${file(./scripts/ci-sls-api-stage-extension.js)}`.
//
// osls names the REST API deployment `ApiGatewayDeployment<instanceId>` (a per-run timestamp) and gives it
// `StageName: <stage>`, which makes API Gateway create the stage implicitly. Stage-level throttling and X-Ray
// then cannot be set through CloudFormation (Deployment.StageDescription is rejected once the stage exists).
// serverless.yml therefore declares its own AWS::ApiGateway::Stage (ProductApiStage) and this extension
// removes StageName from the generated deployment, so the stage is owned by exactly one resource.
// Object keys in serverless.yml cannot contain variables, hence this small resolver.
module.exports = async ({ resolveVariable }) => {
    const instanceId = await resolveVariable("sls:instanceId");
    if (!/^\d+$/.test(String(instanceId))) {
        throw new Error(`unexpected sls:instanceId ${JSON.stringify(instanceId)}`);
    }
    return {
        [`ApiGatewayDeployment${instanceId}`]: {
            Properties: { StageName: { Ref: "AWS::NoValue" } },
        },
    };
};
