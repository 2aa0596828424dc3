// The serverless deployer's Deploy action: the Test stage's package of this stage, bound to the target
// (./release.ts), uploaded to the target's deployment bucket, and deployed by CloudFormation through a change set
// executed as the target's execution role. Every AWS call is made through the deploy role's profile.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAME } from "../components/domain";
import { deploymentObjectPrefix, serviceNames } from "../components/naming";
import type { TargetOutputsOf } from "../components/target-contract";
import { aws, AwsCliError, sleep } from "./aws-cli";
import { BoundRelease, bindRelease, PACKAGE_STATE, PACKAGE_TEMPLATE, packageDirectory } from "./release";

/** How many releases' artifacts stay in the deployment bucket (osls' default). */
export const RELEASES_KEPT = 5;

export interface DeployContext {
    /** The build's working directory: the Test stage's artifact. */
    readonly workDir: string;
    /** The profile of the target's deploy role (already proven by useRoleProfile). */
    readonly profile: string;
    /** Distinguishes change sets of one release deployed twice (a rollback re-runs the same artifact). */
    readonly buildNumber: string;
    readonly pollMs: number;
    readonly log: (line: string) => void;
}

export interface DeployResult {
    readonly url: string;
    readonly stack: string;
    /** false when the stack already was this release (CloudFormation found no change). */
    readonly changed: boolean;
}

/** Reads the stage's package from the artifact and binds it to the target; throws when the release is refused. */
export function loadRelease(workDir: string, target: TargetOutputsOf<"serverless">): BoundRelease {
    const dir = join(workDir, packageDirectory(target.stage));
    const read = (file: string) => {
        const path = join(dir, file);
        if (!existsSync(path)) {
            throw new Error(
                `${join(packageDirectory(target.stage), file)} is missing: the Test stage packages each stage (npm run package)`,
            );
        }
        return JSON.parse(readFileSync(path, "utf8"));
    };
    const release = bindRelease({ template: read(PACKAGE_TEMPLATE), state: read(PACKAGE_STATE) }, target);
    for (const upload of release.uploads) {
        if (!existsSync(join(workDir, upload.file)))
            throw new Error(`${upload.file} is missing: the Test stage builds the bundles (npm run build)`);
    }
    return release;
}

const IN_PROGRESS = /_IN_PROGRESS$/;

export async function deployRelease(
    target: TargetOutputsOf<"serverless">,
    release: BoundRelease,
    ctx: DeployContext,
): Promise<DeployResult> {
    const call = <T = any>(args: string[]) => aws<T>(args, { profile: ctx.profile, region: target.region });
    const stack = serviceNames(target.stage).stack;

    ctx.log(`upload release ${release.name} to s3://${target.deploymentBucketName}/${release.templateKey.replace(/[^/]+$/, "")}`);
    const scratch = mkdtempSync(join(tmpdir(), "release-"));
    try {
        const templateFile = join(scratch, "template.json");
        writeFileSync(templateFile, JSON.stringify(release.template));
        const objects = [
            ...release.uploads.map(({ key, file }) => ({ key, path: join(ctx.workDir, file) })),
            { key: release.templateKey, path: templateFile },
        ];
        for (const { key, path } of objects) {
            await call(["s3api", "put-object", "--bucket", target.deploymentBucketName, "--key", key, "--body", path]);
        }
    } finally {
        rmSync(scratch, { recursive: true, force: true });
    }

    const existing = await describeStack(target, ctx.profile, stack);
    if (existing && IN_PROGRESS.test(existing.StackStatus))
        throw new Error(`stack ${stack} is ${existing.StackStatus}: another deploy is running; retry when it ends`);
    if (existing?.StackStatus === "ROLLBACK_COMPLETE") {
        throw new Error(
            `stack ${stack} is ROLLBACK_COMPLETE (its first deploy failed) and can only be deleted: delete it with the target account's ` +
                `credentials (aws cloudformation delete-stack --stack-name ${stack}), then re-run this action`,
        );
    }
    const changeSet = `release-${release.name.split("-")[0]}-b${ctx.buildNumber.replace(/[^0-9]/g, "") || "0"}`;
    const type = existing === undefined || existing.StackStatus === "REVIEW_IN_PROGRESS" ? "CREATE" : "UPDATE";
    ctx.log(`create change set ${changeSet} (${type}) of ${stack}, executed as ${target.cfnExecutionRoleArn}`);
    const { Id: changeSetId } = await call<{ Id: string }>([
        "cloudformation",
        "create-change-set",
        "--stack-name",
        stack,
        "--change-set-name",
        changeSet,
        "--change-set-type",
        type,
        "--template-url",
        `https://s3.${target.region}.amazonaws.com/${target.deploymentBucketName}/${release.templateKey}`,
        "--role-arn",
        target.cfnExecutionRoleArn,
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--tags",
        `Key=STAGE,Value=${target.stage}`,
    ]);

    let described: { Status: string; StatusReason?: string; Changes?: unknown[] };
    for (;;) {
        described = await call(["cloudformation", "describe-change-set", "--change-set-name", changeSetId]);
        if (!/PENDING|IN_PROGRESS/.test(described.Status)) break;
        await sleep(ctx.pollMs);
    }
    if (described.Status === "FAILED") {
        if (/didn't contain changes|No updates are to be performed/.test(described.StatusReason ?? "")) {
            await call(["cloudformation", "delete-change-set", "--change-set-name", changeSetId]);
            ctx.log(`${stack} already runs this release: nothing to change`);
            return { url: await endpoint(target, ctx.profile, stack), stack, changed: false };
        }
        throw new Error(`change set ${changeSet} of ${stack} failed: ${described.StatusReason ?? "no reason given"}`);
    }

    ctx.log(`execute change set ${changeSet} (${(described.Changes ?? []).length} resource change(s))`);
    const started = new Date();
    await call(["cloudformation", "execute-change-set", "--change-set-name", changeSetId]);
    let status: string;
    for (;;) {
        status = (await describeStack(target, ctx.profile, stack))?.StackStatus ?? "MISSING";
        if (!IN_PROGRESS.test(status)) break;
        await sleep(ctx.pollMs);
    }
    if (status !== `${type}_COMPLETE`) {
        for (const line of await failureReasons(target, ctx.profile, stack, started)) ctx.log(line);
        throw new Error(
            `deploying ${stack} failed: the stack is ${status}${status.includes("ROLLBACK") ? " (CloudFormation rolled back to the previous release)" : ""}`,
        );
    }
    ctx.log(`${stack} is ${status}`);
    await pruneReleases(target, ctx, release);
    return { url: await endpoint(target, ctx.profile, stack), stack, changed: true };
}

async function describeStack(target: TargetOutputsOf<"serverless">, profile: string, stack: string) {
    try {
        const { Stacks } = await aws<{ Stacks: { StackStatus: string; Outputs?: { OutputKey: string; OutputValue: string }[] }[] }>(
            ["cloudformation", "describe-stacks", "--stack-name", stack],
            { profile, region: target.region },
        );
        return Stacks[0];
    } catch (error) {
        if (error instanceof AwsCliError && /does not exist/.test(error.stderr)) return undefined;
        throw error;
    }
}

async function endpoint(target: TargetOutputsOf<"serverless">, profile: string, stack: string): Promise<string> {
    const url = (await describeStack(target, profile, stack))?.Outputs?.find((o) => o.OutputKey === "ServiceEndpoint")?.OutputValue;
    const expected = new RegExp(`^https://[a-z0-9]+\\.execute-api\\.${target.region}\\.amazonaws\\.com(\\.cn)?/${target.stage}$`);
    if (!url || !expected.test(url)) throw new Error(`stack ${stack} has no usable API URL (ServiceEndpoint: ${JSON.stringify(url)})`);
    return url;
}

/** The stack events since `since` that failed, as CloudFormation explains them. */
async function failureReasons(target: TargetOutputsOf<"serverless">, profile: string, stack: string, since: Date): Promise<string[]> {
    const { StackEvents = [] } = await aws<{ StackEvents?: any[] }>(["cloudformation", "describe-stack-events", "--stack-name", stack], {
        profile,
        region: target.region,
    });
    return StackEvents.filter((e) => /FAILED$/.test(e.ResourceStatus) && new Date(e.Timestamp) >= new Date(since.getTime() - 1000))
        .reverse()
        .map((e) => `${e.ResourceStatus}: ${e.LogicalResourceId} (${e.ResourceType}) ${e.ResourceStatusReason ?? ""}`.trim());
}

/** Deletes the artifacts of all but the newest releases under this stage's prefix (the release just deployed stays). */
async function pruneReleases(target: TargetOutputsOf<"serverless">, ctx: DeployContext, release: BoundRelease): Promise<void> {
    const prefix = deploymentObjectPrefix(target.stage, SERVICE_NAME);
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await aws<{ Contents?: { Key: string }[]; NextContinuationToken?: string }>(
            [
                "s3api",
                "list-objects-v2",
                "--bucket",
                target.deploymentBucketName,
                "--prefix",
                prefix,
                ...(token ? ["--continuation-token", token] : []),
            ],
            { profile: ctx.profile, region: target.region },
        );
        keys.push(...(page.Contents ?? []).map((c) => c.Key));
        token = page.NextContinuationToken;
    } while (token);
    // a release is a directory under the stage's prefix; a loose object there is not one of them
    const releases = [
        ...new Set(keys.filter((k) => k.slice(prefix.length).includes("/")).map((k) => k.slice(prefix.length).split("/")[0])),
    ].sort();
    const current = release.templateKey.slice(prefix.length).split("/")[0];
    const old = releases.slice(0, Math.max(0, releases.length - RELEASES_KEPT)).filter((r) => r !== current);
    if (old.length === 0) return;
    const doomed = keys.filter((k) => old.includes(k.slice(prefix.length).split("/")[0]));
    for (let i = 0; i < doomed.length; i += 1000) {
        const batch = { Objects: doomed.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true };
        await aws(["s3api", "delete-objects", "--bucket", target.deploymentBucketName, "--delete", JSON.stringify(batch)], {
            profile: ctx.profile,
            region: target.region,
        });
    }
    ctx.log(`removed the artifacts of ${old.length} older release(s), keeping the ${RELEASES_KEPT} newest`);
}
