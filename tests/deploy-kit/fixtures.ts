// Example targets for the deploy kit's unit tests, as a target stack exports them (components/target-contract.ts):
// tools account 111111111111, dev in 222222222222, prod in 333333333333.
import type { StageSettings } from "../../components/domain";
import type { TargetOutputsOf } from "../../components/target-contract";

/** A serverless stage as the pipeline promotes to it (a DeployTarget whose deployer is known). */
export type ServerlessTarget = TargetOutputsOf<"serverless"> & StageSettings;

const TOOLS = "111111111111";

/** The outputs of a serverless target stack of `stage` in `accountId`. */
export function serverlessOutputs(stage: string, accountId: string): TargetOutputsOf<"serverless"> {
    return {
        deployer: "serverless",
        serviceName: "product-catalog-service",
        stage,
        accountId,
        region: "us-east-1",
        deployRoleArn: `arn:aws:iam::${accountId}:role/deploy-product-catalog-service-${stage}`,
        deploymentBucketName: `product-catalog-deployments-${accountId}-${stage}`,
        permissionsBoundaryArn: `arn:aws:iam::${accountId}:policy/boundary-product-catalog-service-${stage}`,
        trustedBuildRoleArn: `arn:aws:iam::${TOOLS}:role/product-catalog-service-pipeline-build-${stage}`,
        cfnExecutionRoleArn: `arn:aws:iam::${accountId}:role/cfn-product-catalog-service-${stage}`,
        driftRoleArn: `arn:aws:iam::${accountId}:role/drift-product-catalog-service-${stage}`,
    };
}

export const DEV = serverlessOutputs("dev", "222222222222");
export const PROD = serverlessOutputs("prod", "333333333333");

/** A stage as the pipeline promotes to it: dev deploys on every change, prod after an approval, read-only smoke test. */
export const DEV_TARGET: ServerlessTarget = { ...DEV, approval: false, smokeTest: "full", rollbackOnFailure: true };
export const PROD_TARGET: ServerlessTarget = { ...PROD, approval: true, smokeTest: "read-only", rollbackOnFailure: true };
