// A release of the serverless deployer, from the Test stage's package to what CloudFormation is given.
//
// The Test stage (the commit's code, with a role that can reach no account) runs `sls package` once per stage, with
// placeholders for the values only a target knows: its deployment bucket and permissions boundary. The deploy kit
// (the tools stack's code, with the stage's build role) binds a package to one target: it replaces the placeholders
// with the target's values and refuses a release that breaks a rule, before anything reaches the account:
//   - every function's code comes from the target's bucket, under this stage's prefix, from the Test stage's zips;
//   - every IAM role carries the target's permissions boundary and trusts Lambda only; no other IAM resource;
//   - the product table keeps point-in-time recovery and deletion protection and is retained;
//   - and the policy pack's rules on the template (policy/cfn-rules.ts) find nothing.
// Pure: no I/O here (deploy-kit/serverless.ts reads the files and calls AWS).
import { SERVICE_NAME } from "../components/domain";
import { deploymentObjectPrefix } from "../components/naming";
import type { TargetOutputsOf } from "../components/target-contract";
import { CfnTemplateLike, validateTemplate } from "../policy/cfn-rules";

/** Where the Test stage leaves a stage's package in its artifact, and the files in it. */
export const packageDirectory = (stage: string) => `build/packages/${stage}`;
export const PACKAGE_TEMPLATE = "cloudformation-template-update-stack.json";
export const PACKAGE_STATE = "serverless-state.json";

/**
 * The values the Test stage packages with (serverless.yml's parameters), which the kit replaces with the target's.
 * The execution role is not in the template: the kit passes the target's to CloudFormation itself.
 */
export const PACKAGE_PARAMETERS = {
    deploymentBucket: "target-deployment-bucket-bound-at-deploy",
    permissionsBoundaryArn: "arn:aws:iam::000000000000:policy/target-permissions-boundary-bound-at-deploy",
    cfnRoleArn: "arn:aws:iam::000000000000:role/target-cfn-execution-role-bound-at-deploy",
} as const;

/** IAM resource types a release may hold: the function role only (inline policies, the boundary). */
const ALLOWED_IAM_TYPES = ["AWS::IAM::Role"];

export interface CfnTemplate extends CfnTemplateLike {
    readonly Resources: Record<
        string,
        { Type: string; Properties?: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    readonly Outputs?: Record<string, any>;
}

/** What `sls package` wrote, as the kit reads it from the artifact. */
export interface ReleasePackage {
    readonly template: CfnTemplate;
    /** serverless-state.json: the service, its stage and the artifact directory (serverless/<service>/<stage>/<time>). */
    readonly state: { service?: { service?: string; provider?: { stage?: string } }; package?: { artifactDirectoryName?: string } };
}

export interface BoundRelease {
    readonly template: CfnTemplate;
    /** Objects to put in the target's bucket before the change set: key → the artifact file (relative path). */
    readonly uploads: readonly { readonly key: string; readonly file: string }[];
    /** S3 key of the bound template, beside the function zips. */
    readonly templateKey: string;
    /** The release's name: the package's timestamp, as osls names its artifact directory. */
    readonly name: string;
}

/** Binds a package to a target; throws one message listing every reason the release is refused. */
export function bindRelease(pkg: ReleasePackage, target: TargetOutputsOf<"serverless">): BoundRelease {
    const problems: string[] = [];
    const stagePrefix = deploymentObjectPrefix(target.stage, SERVICE_NAME);
    const service = pkg.state.service?.service;
    const stage = pkg.state.service?.provider?.stage;
    if (service !== SERVICE_NAME) problems.push(`the package is for service ${JSON.stringify(service)}, not ${SERVICE_NAME}`);
    if (stage !== target.stage) problems.push(`the package is for stage ${JSON.stringify(stage)}, not ${target.stage}`);
    const directory = pkg.state.package?.artifactDirectoryName ?? "";
    const name = /^[0-9]{10,16}-[0-9T:.Z-]{10,30}$/.exec(directory.slice(stagePrefix.length))?.[0];
    if (!directory.startsWith(stagePrefix) || name === undefined) {
        problems.push(`the package's artifact directory ${JSON.stringify(directory)} is not under ${stagePrefix}<time>`);
    }

    const text = JSON.stringify(pkg.template)
        .split(PACKAGE_PARAMETERS.deploymentBucket)
        .join(target.deploymentBucketName)
        .split(PACKAGE_PARAMETERS.permissionsBoundaryArn)
        .join(target.permissionsBoundaryArn);
    if (text.includes("bound-at-deploy") || text.includes(":000000000000:")) {
        problems.push(
            "the template holds a placeholder the kit does not bind (was it packaged by another version of scripts/package-stages.ts?)",
        );
    }
    const template = JSON.parse(text) as CfnTemplate;

    const uploads: { key: string; file: string }[] = [];
    for (const [id, resource] of Object.entries(template.Resources ?? {})) {
        const p = resource.Properties ?? {};
        if (resource.Type.startsWith("AWS::IAM::") && !ALLOWED_IAM_TYPES.includes(resource.Type)) {
            problems.push(
                `${id} is an ${resource.Type}: a release may hold the function role only (the execution role may create nothing else in IAM)`,
            );
        }
        if (resource.Type === "AWS::IAM::Role" && p.PermissionsBoundary !== target.permissionsBoundaryArn) {
            problems.push(`${id} does not carry the target's permissions boundary ${target.permissionsBoundaryArn}`);
        }
        if (resource.Type === "AWS::Lambda::Function") {
            const code = p.Code ?? {};
            if (
                code.S3Bucket !== target.deploymentBucketName ||
                typeof code.S3Key !== "string" ||
                !code.S3Key.startsWith(`${directory}/`)
            ) {
                problems.push(
                    `${id}'s code is not the release's zip in ${target.deploymentBucketName}/${directory}/ (got ${JSON.stringify(code)})`,
                );
            } else {
                const zip = code.S3Key.slice(directory.length + 1);
                if (!/^[a-z0-9-]+\.zip$/.test(zip)) problems.push(`${id}'s code ${zip} is not a bundle the Test stage builds`);
                else uploads.push({ key: code.S3Key, file: `build/${zip}` });
            }
        }
    }
    for (const v of validateTemplate(template)) problems.push(`${v.logicalId}: ${v.message} [${v.policy}]`);
    if (uploads.length === 0) problems.push("the template deploys no function");
    if (problems.length > 0) {
        throw new Error(`release refused for ${target.stage} (${target.accountId}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    return { template, uploads, templateKey: `${directory}/compiled-cloudformation-template.json`, name: name! };
}
