/** What the pipeline's Deploy action gives CodeBuild for stage dev (example accounts), as the deploy tests use it. */
export const PIPELINE_ENV = {
    DEPLOY_ROLE_ARN: "arn:aws:iam::222222222222:role/product-catalog-deploy",
    TARGET_ACCOUNT_ID: "222222222222",
    TARGET_REGION: "us-east-1",
    STAGE: "dev",
    SERVICE_NAME: "product-catalog-service",
    CFN_EXECUTION_ROLE_ARN: "arn:aws:iam::222222222222:role/product-catalog-cfn-execution",
    DEPLOYMENT_BUCKET: "product-catalog-deployments-222222222222-us-east-1",
    PERMISSIONS_BOUNDARY_ARN: "arn:aws:iam::222222222222:policy/product-catalog-workload-boundary",
    CODEBUILD_BUILD_NUMBER: "42",
};
