/**
 * The pipeline's Deploy action for real, against moto (an AWS emulator) with IAM access control on: the deploy kit,
 * bundled exactly as the tools stack uploads it, run as a stage's Deploy build runs it, with the real AWS CLI, in a
 * CodeBuild-like workspace whose input is the Test stage's artifact (the bundles and the stage's package, from
 * scripts/package-stages.ts) and whose only credentials are the stage's build role's container credentials
 * (./codebuild.ts). The target account's roles, boundary and bucket come from the evaluated target stacks, the build
 * roles from the evaluated tools stack (./accounts.ts). Every assertion reads moto's own APIs, as an administrator.
 */
import {
    DeleteStackCommand,
    DescribeStackEventsCommand,
    DescribeStacksCommand,
    ListStackResourcesCommand,
    Stack,
} from "@aws-sdk/client-cloudformation";
import { GetResourcesCommand, GetRestApisCommand } from "@aws-sdk/client-api-gateway";
import {
    CreateTableCommand,
    DeleteTableCommand,
    DescribeContinuousBackupsCommand,
    DescribeTableCommand,
    PutItemCommand,
    ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { GetRoleCommand, GetRolePolicyCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionCommand } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TargetOutputsOf } from "../../components/target-contract";
import { PACKAGE_PARAMETERS } from "../../deploy-kit/release";
import { ROUTES } from "../../functions/route-table";
import { startMoto, Moto } from "../helpers/moto";
import { buildArtifacts } from "../helpers/sls-package";
import { deployActionEnvironment } from "../iam/policies-from-stacks";
import { Accounts, clients, Clients, destroyClients, setUpAccounts } from "./accounts";
import { ContainerCredentials, createWorkspace, serveContainerCredentials, Workspace } from "./codebuild";
import { writeRelease } from "./release";
import { IssuedSession, startSessionProxy } from "./session-proxy";

const SERVICE = "product-catalog-service";

describe("deploy into moto: the deploy kit as a stage's Deploy action, IAM and trust enforced", function () {
    this.timeout(180_000);
    let moto: Moto;
    let accounts: Accounts;
    let credentials: ContainerCredentials;
    let workspace: Workspace;
    let target: Clients;
    let deployTarget: TargetOutputsOf<"serverless">;
    let stage: string;
    let stackName: string;
    let tableName: string;
    let prefix: string;
    let release = 1;
    /** The release the stage runs now (set by each test whose deploy succeeds). */
    let live = 1;
    let build = 0;

    /** Runs `step` and prints its wall time as `timing: <label>: <ms> ms` (npm run bench reads these lines). */
    async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
        const started = Date.now();
        const result = await step();
        console.log(`      timing: ${label}: ${Date.now() - started} ms`);
        return result;
    }
    const denials = () =>
        moto
            .log()
            .split("\n")
            .filter((l) => l.startsWith("moto-iam: denied"));
    /** One Deploy build: the kit, as the stage's buildspec runs it; each build has its own number. */
    const deploy = (extraEnv: NodeJS.ProcessEnv = {}) =>
        workspace.runKit("deploy", { CODEBUILD_BUILD_NUMBER: String(++build), ...extraEnv });
    const stack = async (): Promise<Stack> =>
        (await target.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0];
    const codeSha = async (fn: string) =>
        (await target.lambda.send(new GetFunctionCommand({ FunctionName: `${stackName}-${fn}` }))).Configuration!.CodeSha256;
    const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("base64");
    const bucketKeys = async () =>
        ((await target.s3.send(new ListObjectsV2Command({ Bucket: deployTarget.deploymentBucketName }))).Contents ?? []).map((o) => o.Key!);

    /** A later release: new code for both functions, in a newer package. */
    async function newRelease(options: { editTemplate?: (t: any) => void; sameCode?: boolean } = {}): Promise<void> {
        release++;
        await writeRelease(workspace.dir, stage, { release, ...options });
    }
    /** Puts release `n`'s artifact in the workspace (release 1: the bundles exactly as the Test stage built them). */
    const useRelease = (n: number) => writeRelease(workspace.dir, stage, { release: n });

    before(async () => {
        moto = await timed("moto start", startMoto);
        accounts = await timed("accounts from the stacks", () => setUpAccounts(moto));
        await moto.enforceIam();
        credentials = await serveContainerCredentials(() => accounts.buildSession);
        workspace = await createWorkspace({ endpoint: moto.url, credentialsUrl: credentials.url, env: accounts.deployEnv });
        target = accounts.admin.target;
        deployTarget = accounts.target;
        stage = deployTarget.stage;
        stackName = `${SERVICE}-${stage}`;
        tableName = `${stackName}-products`;
        prefix = `serverless/${SERVICE}/${stage}/`;
        await useRelease(1);
    });

    after(async () => {
        await credentials?.close();
        if (accounts) for (const c of [...Object.values(accounts.admin), accounts.prod.admin]) destroyClients(c);
        await moto?.stop();
        workspace?.remove();
    });

    describe("first deploy", () => {
        let run: Awaited<ReturnType<typeof deploy>>;
        let sessions: IssuedSession[];

        before(async () => {
            // Through the session proxy, which records every deploy-role session moto issues, and with xtrace forced
            // on from outside, as a careless buildspec would: still no credential may reach the build log.
            const proxy = await startSessionProxy({ moto: moto.url, roleArn: deployTarget.deployRoleArn });
            try {
                run = await timed("deploy (create)", () => deploy({ AWS_ENDPOINT_URL: proxy.url, SHELLOPTS: "xtrace", BASH_ENV: "" }));
                sessions = proxy.issued;
            } finally {
                await proxy.close();
            }
        });

        it("succeeds with only the stage build role's container credentials, assuming the deploy role, and prints no secret", () => {
            expect(run.code, run.output).to.equal(0);
            expect(credentials.served, "container credential requests").to.be.greaterThan(0);
            expect(run.output).to.match(
                new RegExp(
                    `deploy-kit: profile target-deploy -> arn:aws:sts::${deployTarget.accountId}:assumed-role/${accounts.deployRole.name}/codebuild-1-${stage}`,
                ),
            );
            expect(run.output).to.include(`${stackName} is CREATE_COMPLETE`);
            expect(
                sessions.map((s) => s.userAgent.split(" ")[0].split("/")[0]),
                "who assumed the deploy role",
            ).to.include.members(["aws-cli"]);
            const secrets = [accounts.buildSession, ...sessions].flatMap((s) => [s.secretAccessKey, s.sessionToken!]);
            const leaked = secrets.filter((secret) => run.output.includes(secret));
            expect(leaked, "secrets in the build log").to.deep.equal([]);
            expect(denials(), "requests moto refused").to.deep.equal([]);
        });

        it(`creates stack <service>-<stage> as CREATE_COMPLETE, through the execution role, tagged with its stage`, async () => {
            const s = await stack();
            expect(s.StackStatus).to.equal("CREATE_COMPLETE");
            expect(s.RoleARN).to.equal(deployTarget.cfnExecutionRoleArn);
            expect(s.Tags).to.deep.include({ Key: "STAGE", Value: stage });
        });

        it("exports the stack's ServiceEndpoint output as API_URL and in deploy-output.json", async () => {
            const endpoint = (await stack()).Outputs!.find((o) => o.OutputKey === "ServiceEndpoint")!.OutputValue!;
            expect(endpoint).to.match(new RegExp(`^https://[a-z0-9]+\\.execute-api\\.${deployTarget.region}\\.amazonaws\\.com/${stage}$`));
            expect(run.output.trim().split("\n").pop()).to.equal(`API_URL=${endpoint}`);
            expect(JSON.parse(readFileSync(join(workspace.dir, "deploy-output.json"), "utf8"))).to.deep.equal({
                url: endpoint,
                stage,
                region: deployTarget.region,
                account: deployTarget.accountId,
                stack: stackName,
                service: SERVICE,
            });
        });

        // Not its encryption: moto's CloudFormation handler passes SSESpecification on as is, and moto reads the API's
        // `Enabled` where CloudFormation says `SSEEnabled` (moto/dynamodb/models/table.py), so it reports none.
        it("creates the table: key id (S), on demand, point-in-time recovery, and deletion protection that refuses a delete", async () => {
            const { Table } = await target.dynamo.send(new DescribeTableCommand({ TableName: tableName }));
            expect(Table!.KeySchema).to.deep.equal([{ AttributeName: "id", KeyType: "HASH" }]);
            expect(Table!.AttributeDefinitions).to.deep.equal([{ AttributeName: "id", AttributeType: "S" }]);
            expect(Table!.BillingModeSummary?.BillingMode).to.equal("PAY_PER_REQUEST");
            // as behaviour rather than the DescribeTable flag, which moto renders only with a botocore newer than 2023-03
            const refusal = await target.dynamo.send(new DeleteTableCommand({ TableName: tableName })).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(refusal?.message, "DeleteTable was allowed").to.match(/DeletionProtectionEnabled is set to True/);
            const { ContinuousBackupsDescription } = await target.dynamo.send(
                new DescribeContinuousBackupsCommand({ TableName: tableName }),
            );
            expect(ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus).to.equal("ENABLED");
        });

        it("creates both functions on nodejs22.x/arm64 with the tested bundles, their table, and the boundary-bounded role", async () => {
            const built = await buildArtifacts();
            const roleName = `${stackName}-lambda`;
            for (const { functionKey: fn, bundle: artifact } of ROUTES) {
                const { Configuration: c } = await target.lambda.send(new GetFunctionCommand({ FunctionName: `${stackName}-${fn}` }));
                expect(c!.Runtime, fn).to.equal("nodejs22.x");
                expect(c!.Architectures, fn).to.deep.equal(["arm64"]);
                expect(c!.Handler, fn).to.equal("index.handler");
                expect([c!.MemorySize, c!.Timeout], fn).to.deep.equal([256, 10]);
                expect(c!.Environment?.Variables, fn).to.deep.equal({ PRODUCTS_TABLE_NAME: tableName });
                expect(c!.TracingConfig?.Mode, fn).to.equal("Active");
                expect(c!.Role, fn).to.equal(`arn:aws:iam::${deployTarget.accountId}:role/${roleName}`);
                expect(c!.CodeSha256, `${fn} runs exactly the bundle the Test stage built`).to.equal(
                    sha256(join(built, `${artifact}.zip`)),
                );
            }
            const { Role } = await target.iam.send(new GetRoleCommand({ RoleName: roleName }));
            expect(Role!.PermissionsBoundary?.PermissionsBoundaryArn, "the target's boundary, bound by the kit").to.equal(
                deployTarget.permissionsBoundaryArn,
            );
        });

        it("creates the REST API <service>-<stage> with POST /product/create and GET /product/find/{id}, each to its function", async () => {
            const apis = (await target.apiGateway.send(new GetRestApisCommand({}))).items!.filter((a) => a.name === stackName);
            expect(apis).to.have.length(1);
            const endpoint = (await stack()).Outputs!.find((o) => o.OutputKey === "ServiceEndpoint")!.OutputValue!;
            expect(endpoint.startsWith(`https://${apis[0].id}.`), "the endpoint is this API's").to.equal(true);
            const { items } = await target.apiGateway.send(new GetResourcesCommand({ restApiId: apis[0].id, embed: ["methods"] }));
            const routes = items!
                .flatMap((r) =>
                    Object.entries(r.resourceMethods ?? {}).map(([method, m]) => [`${method} ${r.path}`, m.methodIntegration?.uri ?? ""]),
                )
                .sort();
            expect(routes.map(([route]) => route)).to.deep.equal(ROUTES.map((r) => `${r.method} /${r.path}`).sort());
            expect(routes.map(([route]) => route)).to.include.members(["GET /product/find/{id}", "POST /product/create"]);
            for (const { method, path, functionKey } of ROUTES) {
                const [, uri] = routes.find(([route]) => route === `${method} /${path}`)!;
                expect(uri, `${method} /${path}`).to.include(`:function:${stackName}-${functionKey}/invocations`);
            }
        });

        it("keeps every artifact under serverless/<service>/<stage>/ of the deployment bucket", async () => {
            const keys = await bucketKeys();
            expect(keys.filter((k) => !k.startsWith(prefix))).to.deep.equal([]);
            expect(keys.map((k) => k.split("/").pop()).sort()).to.deep.equal(
                ["compiled-cloudformation-template.json", ...ROUTES.map((r) => `${r.bundle}.zip`)].sort(),
            );
            const template = await target.s3.send(new ListObjectsV2Command({ Bucket: deployTarget.deploymentBucketName, Prefix: prefix }));
            expect(template.Contents!.some((o) => o.Key!.endsWith("compiled-cloudformation-template.json"))).to.equal(true);
        });
    });

    describe("second deploy, of changed code, into a table that holds items", () => {
        const ids = Array.from({ length: 25 }, (_, i) => `item-${i}`);

        it("updates the same stack through a change set, keeps every item, and ships the new code", async () => {
            for (const id of ids) {
                await target.dynamo.send(
                    new PutItemCommand({ TableName: tableName, Item: { id: { S: id }, title: { S: `title ${id}` } } }),
                );
            }
            const before = await stack();
            await newRelease();
            const run = await timed("deploy (update)", () => deploy());
            expect(run.code, run.output).to.equal(0);
            live = release;
            const after = await stack();
            expect(after.StackId, "same stack").to.equal(before.StackId);
            expect(after.StackStatus).to.equal("UPDATE_COMPLETE");
            const { StackEvents } = await target.cloudFormation.send(new DescribeStackEventsCommand({ StackName: stackName }));
            expect(StackEvents!.map((e) => e.ResourceStatus)).to.include.members(["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]);
            for (const { functionKey: fn, bundle: artifact } of ROUTES) {
                expect(await codeSha(fn), fn).to.equal(sha256(join(workspace.dir, "build", `${artifact}.zip`)));
            }
            const { Items } = await target.dynamo.send(new ScanCommand({ TableName: tableName }));
            expect(Items!.map((i) => i.id.S).sort()).to.deep.equal([...ids].sort());
            expect(Items!.every((i) => i.title.S === `title ${i.id.S}`)).to.equal(true);
            expect(denials()).to.deep.equal([]);
        });

        it("deploys nothing when the stack already runs the release (CloudFormation finds no change)", async () => {
            const before = await stack();
            const run = await deploy();
            expect(run.code, run.output).to.equal(0);
            expect(run.output).to.include(`${stackName} already runs this release: nothing to change`);
            expect(run.output.trim().split("\n").pop()).to.match(/^API_URL=https:/);
            const after = await stack();
            expect([after.StackStatus, after.LastUpdatedTime]).to.deep.equal([before.StackStatus, before.LastUpdatedTime]);
        });
    });

    describe("a deploy whose template fails", () => {
        it("exits non-zero with CloudFormation's reason and leaves the previous version serving", async () => {
            const before = await stack();
            const shaBefore = await codeSha("createProduct");
            const resources = async () =>
                (await target.cloudFormation.send(new ListStackResourcesCommand({ StackName: stackName })))
                    .StackResourceSummaries!.map((r) => `${r.LogicalResourceId} ${r.PhysicalResourceId}`)
                    .sort();
            const resourcesBefore = await resources();
            // The new template adds a table whose name is taken: one made by hand in the account, outside the stack.
            // (It keeps every rule the kit checks: the failure is CloudFormation's, not the kit's.)
            const taken = `${stackName}-orders`;
            await target.dynamo.send(
                new CreateTableCommand({
                    TableName: taken,
                    BillingMode: "PAY_PER_REQUEST",
                    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
                    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
                }),
            );
            await newRelease({
                editTemplate: (t) => {
                    t.Resources.OrdersTable = {
                        ...t.Resources.ProductsTable,
                        Properties: { ...t.Resources.ProductsTable.Properties, TableName: taken },
                    };
                },
            });
            const run = await timed("deploy (failing, rolled back)", () => deploy());
            expect(run.code, run.output).to.not.equal(0);
            expect(run.output).to.match(/CREATE_FAILED: OrdersTable \(AWS::DynamoDB::Table\)\s+ResourceInUseException: .*already exists/);
            expect(run.output).to.include("CloudFormation rolled back to the previous release");
            expect(run.output).to.not.include("API_URL=");

            const after = await stack();
            expect(after.StackStatus).to.equal("UPDATE_ROLLBACK_COMPLETE");
            expect(after.Outputs).to.deep.equal(before.Outputs);
            expect(await codeSha("createProduct"), "previous code still deployed").to.equal(shaBefore);
            expect(await resources()).to.deep.equal(resourcesBefore);
            const { Count } = await target.dynamo.send(new ScanCommand({ TableName: tableName, Select: "COUNT" }));
            expect(Count, "items kept").to.equal(25);
        });
    });

    // A release is data the kit binds and checks before anything reaches the account: these templates would
    // plant a door or drop a data guarantee, and are refused with the rule they break; the bucket and the stack
    // stay as they were.
    describe("a release the kit refuses", () => {
        const attacker = "arn:aws:iam::444455556666:role/attacker";
        const refusals: [string, (t: any) => void, RegExp][] = [
            [
                "a new role trusting another account, retained on delete",
                (t) => {
                    t.Resources.BackdoorRole = {
                        Type: "AWS::IAM::Role",
                        DeletionPolicy: "Retain",
                        Properties: {
                            RoleName: `${stackName}-backdoor`,
                            PermissionsBoundary: PACKAGE_PARAMETERS.permissionsBoundaryArn,
                            AssumeRolePolicyDocument: {
                                Version: "2012-10-17",
                                Statement: [{ Effect: "Allow", Principal: { AWS: attacker }, Action: "sts:AssumeRole" }],
                            },
                        },
                    };
                },
                /BackdoorRole: .*trusts AWS:arn:aws:iam::444455556666:role\/attacker.*\[iam-bounded-role-trusts-lambda-only\]/,
            ],
            [
                "the function role's trust widened to another account",
                (t) => {
                    t.Resources.IamRoleLambdaExecution.Properties.AssumeRolePolicyDocument.Statement[0].Principal = {
                        Service: ["lambda.amazonaws.com"],
                        AWS: attacker,
                    };
                },
                /IamRoleLambdaExecution: .*trusts AWS:arn:aws:iam::444455556666:role\/attacker/,
            ],
            [
                "a managed policy attached to nothing yet (any IAM resource but the function role)",
                (t) => {
                    t.Resources.ExtraPolicy = {
                        Type: "AWS::IAM::ManagedPolicy",
                        Properties: {
                            PolicyDocument: {
                                Version: "2012-10-17",
                                Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
                            },
                        },
                    };
                },
                /ExtraPolicy is an AWS::IAM::ManagedPolicy: a release may hold the function role only/,
            ],
            [
                "the table without point-in-time recovery",
                (t) => (t.Resources.ProductsTable.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled = false),
                /ProductsTable: .*point-in-time recovery.*\[dynamodb-point-in-time-recovery\]/,
            ],
            [
                "the table without deletion protection, deleted with the stack",
                (t) => {
                    t.Resources.ProductsTable.Properties.DeletionProtectionEnabled = false;
                    t.Resources.ProductsTable.DeletionPolicy = "Delete";
                },
                /ProductsTable: .*deletion protection[\s\S]*ProductsTable: table must be retained/,
            ],
            [
                "the function role without the target's boundary",
                (t) => delete t.Resources.IamRoleLambdaExecution.Properties.PermissionsBoundary,
                /IamRoleLambdaExecution does not carry the target's permissions boundary/,
            ],
        ];
        for (const [what, edit, message] of refusals) {
            it(`refuses ${what}: nothing uploaded, the stack unchanged`, async () => {
                const keysBefore = await bucketKeys();
                const before = await stack();
                await newRelease({ editTemplate: edit, sameCode: true });
                const run = await deploy();
                expect(run.code, run.output).to.equal(1);
                expect(run.output).to.include(`release refused for ${stage} (${deployTarget.accountId})`);
                expect(run.output).to.match(message);
                expect(run.output, "refused before the account is touched").to.not.include("assume the deploy role");
                expect(await bucketKeys()).to.deep.equal(keysBefore);
                const after = await stack();
                expect([after.StackStatus, after.LastUpdatedTime]).to.deep.equal([before.StackStatus, before.LastUpdatedTime]);
            });
        }
    });

    describe("IAM and trust as moto enforces them", () => {
        let deployRole: Clients;

        before(async () => {
            // the deploy role's session as the build gets it: the build role's credentials assume it
            const build = clients(moto, deployTarget.region, accounts.buildSession);
            try {
                const { Credentials: c } = await build.sts.send(
                    new AssumeRoleCommand({ RoleArn: deployTarget.deployRoleArn, RoleSessionName: "iam-checks" }),
                );
                deployRole = clients(moto, deployTarget.region, {
                    accessKeyId: c!.AccessKeyId!,
                    secretAccessKey: c!.SecretAccessKey!,
                    sessionToken: c!.SessionToken!,
                });
            } finally {
                destroyClients(build);
            }
        });
        after(() => deployRole && destroyClients(deployRole));

        const refused = async (call: Promise<unknown>) => {
            const error = await call.then(
                () => undefined,
                (e) => e,
            );
            expect(error, "the call was allowed").to.be.instanceOf(Error);
            expect(error.name).to.match(/AccessDenied/);
        };

        it("the deploy role writes its own stage's prefix, and no other stage's", async () => {
            const bucket = deployTarget.deploymentBucketName;
            await deployRole.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}iam-check.txt`, Body: "ok" }));
            await refused(
                deployRole.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `serverless/${SERVICE}/prod/iam-check.txt`, Body: "x" })),
            );
            await refused(deployRole.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `elsewhere/iam-check.txt`, Body: "x" })));
        });

        it("the deploy role reads its stack but cannot delete it, nor read another stack", async () => {
            await deployRole.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
            await refused(deployRole.cloudFormation.send(new DeleteStackCommand({ StackName: stackName })));
            await refused(deployRole.cloudFormation.send(new DescribeStacksCommand({ StackName: `${SERVICE}-prod` })));
        });

        it("the build role may assume its stage's deploy role only, not the execution role", async () => {
            const build = clients(moto, deployTarget.region, accounts.buildSession);
            try {
                await refused(build.sts.send(new AssumeRoleCommand({ RoleArn: deployTarget.cfnExecutionRoleArn, RoleSessionName: "x" })));
            } finally {
                destroyClients(build);
            }
        });

        // Two statements the deploy needs, each removed in turn from the role moto holds: the deploy fails, and
        // moto's log names the refused call. Restored after each.
        for (const [sid, refusal] of [
            ["ServiceStack", "cloudformation:DescribeStacks"],
            ["DeploymentArtifacts", "s3:PutObject"],
        ]) {
            it(`without statement ${sid} the deploy fails: moto refuses ${refusal}`, async () => {
                const role = accounts.deployRole;
                const [inline] = role.inline;
                const { PolicyDocument } = await target.iam.send(
                    new GetRolePolicyCommand({ RoleName: role.name, PolicyName: inline.name }),
                );
                const current = JSON.parse(decodeURIComponent(PolicyDocument!));
                expect(current, "moto holds exactly the generated policy").to.deep.equal(inline.policy);
                const without = { ...current, Statement: current.Statement.filter((s: { Sid?: string }) => s.Sid !== sid) };
                expect(without.Statement).to.have.length(current.Statement.length - 1);
                await newRelease();
                const put = (policy: object) =>
                    target.iam.send(
                        new PutRolePolicyCommand({ RoleName: role.name, PolicyName: inline.name, PolicyDocument: JSON.stringify(policy) }),
                    );
                await put(without);
                try {
                    const from = denials().length;
                    const run = await deploy();
                    expect(run.code, run.output).to.not.equal(0);
                    expect(run.output).to.not.include("API_URL=");
                    expect(denials().slice(from).join("\n")).to.include(
                        `assumed-role/${role.name}/codebuild-${build}-${stage} ${refusal} `,
                    );
                } finally {
                    await put(inline.policy);
                }
            });
        }
    });

    // Stage isolation: a commit that reaches dev's Deploy build holds dev's build role only. Pointed at prod's
    // values (the Deploy action of prod, as the tools stack wires it), the build cannot assume prod's deploy role:
    // its identity policy does not allow it, and even with a policy that did, prod's trust names prod's build role only.
    describe("the dev build pointed at prod", () => {
        let prod: TargetOutputsOf<"serverless">;
        let prodAdmin: Clients;
        before(() => ({ target: prod, admin: prodAdmin } = accounts.prod));

        it("is refused by moto at AssumeRole, and prod is unchanged", async () => {
            // prod's package, as the Test stage leaves it: so the kit gets as far as the account
            await writeRelease(workspace.dir, "prod", { release: 1 });
            const from = denials().length;
            const run = await workspace.runKit("deploy", {
                ...deployActionEnvironment(accounts.stacks.tools, "prod"),
                CODEBUILD_BUILD_NUMBER: String(++build),
            });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.include(`could not assume ${prod.deployRoleArn}`);
            expect(denials().slice(from).join("\n")).to.include(
                `${accounts.buildRole.name}/AWSCodeBuild-deploy-${stage} sts:AssumeRole ${prod.deployRoleArn}`,
            );
            const stacks = await prodAdmin.cloudFormation.send(new DescribeStacksCommand({})).then(
                (r) => r.Stacks ?? [],
                () => [],
            );
            expect(
                stacks.map((s) => s.StackName),
                "stacks in prod",
            ).to.deep.equal([]);
        });

        it("is refused by prod's trust policy even when the dev build role's own policy would allow it", async () => {
            const role = accounts.buildRole;
            const widened = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] };
            await accounts.admin.tools.iam.send(
                new PutRolePolicyCommand({ RoleName: role.name, PolicyName: "careless-edit", PolicyDocument: JSON.stringify(widened) }),
            );
            try {
                const from = denials().length;
                const run = await workspace.runKit("deploy", {
                    ...deployActionEnvironment(accounts.stacks.tools, "prod"),
                    CODEBUILD_BUILD_NUMBER: String(++build),
                });
                expect(run.code, run.output).to.equal(1);
                expect(denials().slice(from).join("\n")).to.match(
                    new RegExp(`sts:AssumeRole ${prod.deployRoleArn.replace(/[/.]/g, "\\$&")} \\(trust policy\\)`),
                );
            } finally {
                const { DeleteRolePolicyCommand } = await import("@aws-sdk/client-iam");
                await accounts.admin.tools.iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: "careless-edit" }));
            }
        });
    });

    // What CodePipeline's stage rollback runs when a stage fails after its Deploy (its smoke test, typically): the
    // same Deploy action again, with the artifact of the stage's last successful execution. Here: release N is
    // live, release N+1 deploys and "fails its smoke test", then the Deploy action runs on release N's artifact.
    describe("a rollback: the Deploy action run again on the last successful execution's artifact", () => {
        it("puts the previous release back, through an update of the same stack, keeping the data", async () => {
            const good = live;
            const goodSha = await codeSha("createProduct");
            await newRelease();
            const failing = await deploy();
            expect(failing.code, failing.output).to.equal(0);
            const failingSha = await codeSha("createProduct");
            expect(failingSha, "release N+1 is live before the rollback").to.not.equal(goodSha);

            await useRelease(good);
            const before = await stack();
            const rollback = await timed("deploy (rollback to the previous artifact)", () => deploy());
            expect(rollback.code, rollback.output).to.equal(0);
            expect(await codeSha("createProduct"), "the previous release's code").to.equal(goodSha);
            expect(await codeSha("findProduct")).to.equal(sha256(join(workspace.dir, "build", "find-product.zip")));
            const after = await stack();
            expect([after.StackId, after.StackStatus]).to.deep.equal([before.StackId, "UPDATE_COMPLETE"]);
            const { Count } = await target.dynamo.send(new ScanCommand({ TableName: tableName, Select: "COUNT" }));
            expect(Count, "items kept").to.equal(25);
        });
    });

    // Role chaining (CodeBuild's role -> deploy role) caps an assumed session at one hour, and a deploy can take
    // longer. Through ./session-proxy.ts, deploy-role sessions last 2 s and a request signed after that is refused,
    // as STS-issued credentials are: the deploy succeeds only if the CLI re-assumes the role whenever a session runs out.
    describe("a deploy that outlives its assumed-role session", () => {
        it("re-assumes the role instead of failing", async () => {
            const sessions = await startSessionProxy({ moto: moto.url, roleArn: deployTarget.deployRoleArn, sessionSeconds: 2 });
            try {
                await newRelease();
                const started = Date.now();
                const run = await deploy({ AWS_ENDPOINT_URL: sessions.url, DEPLOY_POLL_MS: "1000" });
                expect(run.code, run.output).to.equal(0);
                live = release;
                expect(sessions.refused, "requests sent with an expired session").to.equal(0);
                expect(Date.now() - started, "the deploy outlived a session").to.be.greaterThan(2 * 2000);
                expect(sessions.issued.length, "AssumeRole calls by the CLI").to.be.greaterThan(1);
                expect((await stack()).StackStatus).to.equal("UPDATE_COMPLETE");

                // and the proxy does refuse an expired session (so the assertions above can fail)
                const last = sessions.issued[sessions.issued.length - 1];
                await new Promise((r) => setTimeout(r, 2100));
                const stale = await fetch(sessions.url, {
                    method: "POST",
                    headers: {
                        authorization: `AWS4-HMAC-SHA256 Credential=${last.accessKeyId}/20261203/us-east-1/cloudformation/aws4_request`,
                    },
                    body: "Action=DescribeStacks",
                });
                expect(stale.status).to.equal(400);
                expect(await stale.text()).to.contain("<Code>ExpiredToken</Code>");
            } finally {
                await sessions.close();
            }
        });
    });

    describe("artifact retention", () => {
        const releaseDirectories = async () =>
            [
                ...new Set(
                    (await bucketKeys())
                        .filter((k) => k.startsWith(prefix))
                        .map((k) => k.slice(prefix.length))
                        .filter((k) => k.includes("/"))
                        .map((k) => k.split("/")[0]),
                ),
            ].sort();

        // The kit keeps the five newest releases and deletes the rest (DeleteObjects), which the deploy role's
        // DeploymentArtifacts statement must allow, key by key. Enough releases are deployed here to pass five.
        it("keeps the five newest releases' artifacts, deleting older ones as the deploy role may", async () => {
            const before = await releaseDirectories();
            const more = Math.max(1, 7 - before.length);
            for (let i = 0; i < more; i++) {
                await newRelease();
                const run = await deploy();
                expect(run.code, run.output).to.equal(0);
            }
            live = release;
            const after = await releaseDirectories();
            expect(before.length + more, "releases uploaded").to.be.greaterThan(5);
            expect(after).to.have.length(5);
            expect(after, "the oldest release is gone").to.not.include(before[0]);
            expect(before, "the newest kept is the release just deployed").to.not.include(after[after.length - 1]);
            expect(denials().filter((d) => d.includes("s3:DeleteObject"))).to.deep.equal([]);
        });
    });
});
