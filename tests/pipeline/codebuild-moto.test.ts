/**
 * A CodeBuild action of the rehearsal against a real moto with IAM enforced: the build's only credentials are
 * its project role's, served on AWS_CONTAINER_CREDENTIALS_FULL_URI from a session moto issued to
 * codebuild.amazonaws.com after checking the role's trust policy; the AWS CLI and the SDK inside the build reach
 * moto. A project whose role does not trust CodeBuild cannot start.
 */
import {
    CreateAccessKeyCommand,
    CreateRoleCommand,
    CreateUserCommand,
    IAMClient,
    PutRolePolicyCommand,
    PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Moto, startMoto } from "../helpers/moto";
import { PipelineRehearsal } from "./executor";
import { PipelineInputs, ProjectInputs } from "./pulumi-shapes";
import { serviceCredentials } from "./service-session";

const REGION = "us-east-1";
const ACCOUNT = "111111111111";
const BUCKET = "tools-artifacts";

describe("pipeline rehearsal: a CodeBuild action against moto, IAM enforced", function () {
    this.timeout(60_000);
    let moto: Moto;
    let root: string;

    const project = (name: string, roleName: string): ProjectInputs => ({
        name,
        serviceRole: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
        artifacts: { type: "CODEPIPELINE" },
        environment: {
            type: "LINUX_CONTAINER",
            computeType: "BUILD_GENERAL1_SMALL",
            image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        },
        source: {
            type: "CODEPIPELINE",
            buildspec: `version: 0.2
env:
  shell: bash
  exported-variables: [CALLER, BUCKETS]
phases:
  build:
    commands:
      - CALLER="$(aws sts get-caller-identity --query Arn --output text)"
      - export CALLER
      - |
        export BUCKETS="$(node -e 'const { S3Client, ListBucketsCommand } = require(process.env.SDK_S3); new S3Client({ forcePathStyle: true }).send(new ListBucketsCommand({})).then((r) => console.log(r.Buckets.map((b) => b.Name).join(",")))')"
`,
        },
    });

    const pipeline = (projectName: string): PipelineInputs => ({
        name: "tools-pipeline",
        pipelineType: "V2",
        roleArn: `arn:aws:iam::${ACCOUNT}:role/pipeline`,
        artifactStores: [{ type: "S3", location: BUCKET }],
        stages: [
            {
                name: "Source",
                actions: [
                    {
                        name: "Source",
                        category: "Source",
                        owner: "AWS",
                        provider: "CodeCommit",
                        version: "1",
                        outputArtifacts: ["source"],
                        configuration: {},
                    },
                ],
            },
            {
                name: "Build",
                actions: [
                    {
                        name: "WhoAmI",
                        category: "Build",
                        owner: "AWS",
                        provider: "CodeBuild",
                        version: "1",
                        namespace: "Build",
                        inputArtifacts: ["source"],
                        configuration: {
                            ProjectName: projectName,
                            // the SDK from this checkout, by path: the build's workspace has no node_modules
                            EnvironmentVariables: JSON.stringify([
                                { name: "SDK_S3", value: require.resolve("@aws-sdk/client-s3"), type: "PLAINTEXT" },
                            ]),
                        },
                    },
                ],
            },
        ],
    });

    before(async () => {
        root = mkdtempSync(join(tmpdir(), "codebuild-moto-"));
        writeFileSync(join(root, "README"), "source");
        moto = await startMoto();
        const iam = new IAMClient({
            endpoint: moto.url,
            region: REGION,
            credentials: { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" },
        });
        iam.middlewareStack.add(
            (next: any) => (args: any) => {
                args.request.headers["x-moto-account-id"] = ACCOUNT;
                return next(args);
            },
            { step: "build" },
        );
        try {
            await iam.send(new CreateUserCommand({ UserName: "administrator" }));
            const admin = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
            await iam.send(
                new PutUserPolicyCommand({ UserName: "administrator", PolicyName: "all", PolicyDocument: JSON.stringify(admin) }),
            );
            const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "administrator" }));
            const s3 = new S3Client({
                endpoint: moto.url,
                region: REGION,
                forcePathStyle: true,
                credentials: { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! },
            });
            await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
            s3.destroy();
            const trust = (service: string) =>
                JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
                });
            const listBuckets = JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }],
            });
            for (const [name, service] of [
                ["build-role", "codebuild.amazonaws.com"],
                ["lambda-only-role", "lambda.amazonaws.com"],
            ]) {
                await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust(service) }));
                await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "list", PolicyDocument: listBuckets }));
            }
        } finally {
            iam.destroy();
        }
        await moto.enforceIam();
    });

    after(async () => {
        await moto?.stop();
        rmSync(root, { recursive: true, force: true });
    });

    const rehearse = async (projectName: string, roleName: string) => {
        const rehearsal = new PipelineRehearsal({
            pipeline: pipeline(projectName),
            projects: [project(projectName, roleName)],
            region: REGION,
            accountId: ACCOUNT,
            awsEndpoint: moto.url,
            credentialsFor: serviceCredentials(moto, "codebuild.amazonaws.com", { account: ACCOUNT }),
        });
        try {
            return await rehearsal.start({ sources: { Source: { directory: root, variables: { CommitId: "c0ffee" } } } });
        } finally {
            await rehearsal.dispose();
        }
    };

    it("calls moto as the project's role only, from the AWS CLI and the SDK", async () => {
        const started = Date.now();
        const execution = await rehearse("whoami", "build-role");
        console.log(`      timing: one-build execution with the AWS CLI: ${Date.now() - started} ms`);
        const action = execution.stages[1].actions[0];
        expect(execution.status, action.message ?? action.build?.log).to.equal("Succeeded");
        expect(execution.variables.Build.CALLER).to.match(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/build-role/`));
        expect(execution.variables.Build.BUCKETS).to.equal(BUCKET);
        expect(action.build!.credentialRequests).to.be.at.least(2);
    });

    it("cannot start a build whose project role does not trust CodeBuild", async () => {
        const execution = await rehearse("untrusted", "lambda-only-role");
        expect(execution.status).to.equal("Failed");
        expect(execution.stages[1].actions[0].message).to.match(
            /^codebuild\.amazonaws\.com may not assume arn:aws:iam::111111111111:role\/lambda-only-role \(HTTP 403\): .*no statement allows it/,
        );
        const denial =
            "moto-iam: denied codebuild.amazonaws.com sts:AssumeRole arn:aws:iam::111111111111:role/lambda-only-role (trust policy)";
        expect(await moto.logHolding([denial])).to.include(denial);
    });
});
