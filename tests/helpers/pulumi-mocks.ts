// Runs Pulumi code under the SDK's mock runtime and records every resource it registers.
//
// The mocks behave like the AWS provider where tests depend on it: resources get the ARNs AWS would give
// them (from their names and the stack's account), stack references return the outputs a test supplies,
// and an invoke without a mock throws, so a missing mock is loud rather than silently echoing inputs.

import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "serverless-cross-account-cicd";
export const ORGANIZATION = "acme";
export const TOOLS_ACCOUNT = "111111111111";
export const TARGET_ACCOUNT = "222222222222";
export const REGION = "us-east-1";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly id: string;
    readonly state: Record<string, any>;
}

export interface MockCloudOptions {
    readonly accountId: string;
    readonly region?: string;
    /** Outputs of the stacks the program references, by fully qualified stack name. */
    readonly stackOutputs?: Record<string, Record<string, unknown>>;
}

// `waitForRPCs` drains the runtime's queue of pending registrations; it is internal, so not in the typings.
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

export class MockCloud implements pulumi.runtime.Mocks {
    readonly resources: RecordedResource[] = [];
    readonly invokes: { token: string; inputs: Record<string, any> }[] = [];
    readonly accountId: string;
    readonly region: string;
    readonly stackOutputs: Record<string, Record<string, unknown>>;

    constructor(options: MockCloudOptions) {
        this.accountId = options.accountId;
        this.region = options.region ?? REGION;
        this.stackOutputs = options.stackOutputs ?? {};
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const { type, name, inputs } = args;
        if (type === "pulumi:pulumi:StackReference") {
            const stackName: string = inputs.name;
            const outputs = this.stackOutputs[stackName];
            // what the engine answers for a stack its backend does not hold (pkg/resource/deploy: GetStackOutputs)
            if (!outputs) throw new Error(`unknown stack "${stackName}"`);
            const recorded = { type, name, inputs, id: stackName, state: { ...inputs, outputs } };
            this.resources.push(recorded);
            return { id: stackName, state: recorded.state };
        }
        const id = `${inputs.name ?? name}-id`;
        const state = { ...inputs, ...this.computedState(type, name, inputs) };
        this.resources.push({ type, name, inputs, id, state });
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        this.invokes.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: this.accountId, arn: `arn:aws:iam::${this.accountId}:user/mock`, userId: "AIDAMOCK" };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
            case "aws:index/getRegion:getRegion":
                return { region: this.region, name: this.region, id: this.region };
            default:
                throw new Error(`mock: no mock for invoke ${args.token}`);
        }
    }

    /** Output properties AWS computes, for the resource types this project creates. */
    private computedState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
        const account = this.accountId;
        const region = this.region;
        const physical = inputs.name ?? `${name}-abc1234`;
        switch (type) {
            case "aws:iam/role:Role":
                return { arn: `arn:aws:iam::${account}:role/${physical}`, name: physical, uniqueId: `AROA${name.length}MOCK` };
            case "aws:iam/policy:Policy":
                return { arn: `arn:aws:iam::${account}:policy/${physical}`, name: physical };
            case "aws:s3/bucket:Bucket": {
                // Bucket names are global, so an auto-name's suffix differs per account (Pulumi's is random).
                const bucket = inputs.bucket ?? `${name}-${account.slice(0, 7)}`;
                return { bucket, arn: `arn:aws:s3:::${bucket}` };
            }
            case "aws:kms/key:Key":
                return { arn: `arn:aws:kms:${region}:${account}:key/${name}-key-id`, keyId: `${name}-key-id` };
            case "aws:codecommit/repository:Repository": {
                const repo = inputs.repositoryName;
                return {
                    arn: `arn:aws:codecommit:${region}:${account}:${repo}`,
                    cloneUrlHttp: `https://git-codecommit.${region}.amazonaws.com/v1/repos/${repo}`,
                    cloneUrlSsh: `ssh://git-codecommit.${region}.amazonaws.com/v1/repos/${repo}`,
                };
            }
            case "aws:cloudwatch/logGroup:LogGroup":
                return { arn: `arn:aws:logs:${region}:${account}:log-group:${physical}` };
            case "aws:codebuild/project:Project":
                return { arn: `arn:aws:codebuild:${region}:${account}:project/${physical}` };
            case "aws:codepipeline/pipeline:Pipeline":
                return { arn: `arn:aws:codepipeline:${region}:${account}:${physical}` };
            case "aws:codebuild/reportGroup:ReportGroup":
                return { arn: `arn:aws:codebuild:${region}:${account}:report-group/${physical}` };
            case "aws:sns/topic:Topic":
                return { arn: `arn:aws:sns:${region}:${account}:${physical}` };
            case "aws:cloudwatch/eventRule:EventRule":
                return { arn: `arn:aws:events:${region}:${account}:rule/${physical}`, name: physical };
            case "aws:dynamodb/table:Table":
                return { arn: `arn:aws:dynamodb:${region}:${account}:table/${physical}`, name: physical };
            case "aws:lambda/function:Function": {
                const arn = `arn:aws:lambda:${region}:${account}:function:${physical}`;
                return {
                    arn,
                    name: physical,
                    invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
                };
            }
            case "aws:apigateway/restApi:RestApi":
                return {
                    rootResourceId: "root-id",
                    executionArn: `arn:aws:execute-api:${region}:${account}:${name}-api-id`,
                    arn: `arn:aws:apigateway:${region}::/restapis/${name}-api-id`,
                };
            case "aws:apigateway/stage:Stage":
                return { invokeUrl: `https://${name}-api-id.execute-api.${region}.amazonaws.com/${inputs.stageName}` };
            default:
                return { arn: `arn:aws:mock:${region}:${account}:${type}/${physical}` };
        }
    }

    // ---- queries for tests ----

    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource of `type` whose logical name ends with `suffix`; fails when there is not exactly one. */
    one(type: string, suffix = ""): RecordedResource {
        const found = this.ofType(type).filter((r) => r.name.endsWith(suffix));
        if (found.length !== 1) {
            throw new Error(`expected one ${type} named *${suffix}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
        }
        return found[0];
    }
}

/** Resolves an Output (or plain value) the way a test needs it: `await resolve(output)`. */
export function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return new Promise((res) => pulumi.output(value).apply((v) => res(v as pulumi.Unwrap<T>)));
}

/** Resolves every value of an object of Outputs. */
export async function resolveAll<T extends Record<string, unknown>>(values: T): Promise<Record<keyof T, any>> {
    const entries = await Promise.all(
        Object.entries(values).map(async ([k, v]) => [k, await resolve(v as pulumi.Input<unknown>)] as const),
    );
    return Object.fromEntries(entries) as unknown as Record<keyof T, any>;
}

/** Installs mocks and config for one stack; call before constructing resources. */
export async function useMocks(options: MockCloudOptions & { stack: string; config?: Record<string, unknown> }): Promise<MockCloud> {
    const cloud = new MockCloud(options);
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(options.config ?? {})) {
        config[key.includes(":") ? key : `${PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    pulumi.runtime.setAllConfig(config);
    await pulumi.runtime.setMocks(cloud, PROJECT, options.stack, false, ORGANIZATION);
    return cloud;
}

/** Waits until every registration the program started has reached the mocks. */
export async function settle(): Promise<void> {
    await settings.waitForRPCs();
}

/** Runs `index.ts` as the given stack and returns its resolved outputs with the resources it registered. */
export async function runStack(options: MockCloudOptions & { stack: string; config: Record<string, unknown> }) {
    const cloud = await useMocks(options);
    const program = require("../../index") as () => Promise<Record<string, unknown>>;
    const outputs = await resolveAll(await program());
    await settle();
    return { cloud, outputs };
}

/** A policy document input as the provider receives it: a typed object, or JSON. */
export function policyDocument(value: unknown): { Version: string; Statement: any[] } {
    return typeof value === "string" ? JSON.parse(value) : (value as { Version: string; Statement: any[] });
}
