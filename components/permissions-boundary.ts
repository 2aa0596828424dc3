import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SERVICE_NAME } from "./domain";
import { servicePrefix } from "./naming";
import { AccountContext, permissionsBoundaryPolicy } from "./policies";

/**
 * The permissions boundary every function role of `<service>-<stage>` carries. Its name deliberately does not
 * start with `<service>-<stage>-`, the prefix of what the CloudFormation execution role may manage.
 */
export function newPermissionsBoundary(
    name: string,
    args: { stage: string; account: pulumi.Input<AccountContext>; serviceName?: string },
    opts?: pulumi.CustomResourceOptions,
): aws.iam.Policy {
    const service = args.serviceName ?? SERVICE_NAME;
    const prefix = servicePrefix(args.stage, service);
    const boundaryPolicyName = `boundary-${prefix}`;
    return new aws.iam.Policy(
        name,
        {
            name: boundaryPolicyName,
            description: `Most any function role of ${prefix} may do; required on every role created for it`,
            policy: pulumi
                .output(args.account)
                .apply((ctx) => permissionsBoundaryPolicy({ ctx, service, stage: args.stage, boundaryPolicyName })),
        },
        opts,
    );
}
