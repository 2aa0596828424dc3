// Names of what the Serverless service creates in a target account. serverless.yml names its resources the
// same way (a test checks the packaged template against these), and the target stack's IAM is scoped to them.

import { SERVICE_NAME } from "./domain";

/** Prefix of every resource the service creates for a stage: `<service>-<stage>`. */
export function servicePrefix(stage: string, service: string = SERVICE_NAME): string {
    return `${service}-${stage}`;
}

export const serviceNames = (stage: string, service: string = SERVICE_NAME) => {
    const prefix = servicePrefix(stage, service);
    return {
        prefix,
        /** CloudFormation stack Serverless deploys. */
        stack: prefix,
        table: `${prefix}-products`,
        functionRole: `${prefix}-lambda`,
        restApi: prefix,
        function: (key: string) => `${prefix}-${key}`,
    };
};

/** Serverless uploads artifacts under `<deploymentPrefix>/<service>/<stage>/` in the deployment bucket. */
export function deploymentObjectPrefix(stage: string, service: string = SERVICE_NAME): string {
    return `serverless/${service}/${stage}/`;
}

/** The pulumi deployer's self-managed backend keeps a stage's state under `pulumi/<service>/<stage>/` in the same bucket. */
export function pulumiStatePrefix(stage: string, service: string = SERVICE_NAME): string {
    return `pulumi/${service}/${stage}/`;
}
