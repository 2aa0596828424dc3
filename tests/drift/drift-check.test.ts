/**
 * The drift check for real: the deploy kit's `drift` command, bundled exactly as the tools stack uploads it, run as
 * the drift-check project's inline buildspec runs it (`node <kit> drift`), with the real AWS CLI, in a CodeBuild-like
 * workspace (tests/deploy/codebuild.ts) whose only credentials are the drift-check role's container credentials,
 * against moto with IAM access control on. The tools, dev and prod accounts are set up in one moto from the evaluated
 * stacks (tests/deploy/accounts.ts): the drift-check role `<prefix>-drift` from the tools stack, each target's
 * read-only drift role `drift-<service>-<stage>` from its target stack; the project's environment (DRIFT_TARGETS, the
 * topic) is the one the tools stack gives the drift-check project.
 *
 * moto has no drift detection: ./cloudformation-drift.ts answers the three drift calls from a scenario per stack,
 * after moto authorised each one (so the drift roles' policies are enforced on them too). Assuming the drift roles
 * and publishing to the topic are moto's alone.
 */
import { CreateChangeSetCommand, DeleteStackCommand, UpdateStackCommand } from "@aws-sdk/client-cloudformation";
import { CreateRoleCommand, DeleteRolePolicyCommand, GetRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionCommand, UpdateFunctionCodeCommand } from "@aws-sdk/client-lambda";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import { expect } from "chai";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { TargetOutputsOf } from "../../components/target-contract";
import { startMoto, Moto } from "../helpers/moto";
import { projectEnvironment, RoleModel } from "../iam/policies-from-stacks";
import { Accounts, clients, Clients, codeBuildSession, destroyClients, SessionCredentials, setUpAccounts } from "../deploy/accounts";
import { ContainerCredentials, createWorkspace, serveContainerCredentials } from "../deploy/codebuild";
import { DriftFront, DriftScenario, startDriftFront } from "./cloudformation-drift";

const SERVICE = "product-catalog-service";

interface Notification {
    Subject: string;
    Message: string;
}

describe("drift check: the deploy kit's `drift` against moto, IAM and trust enforced, CloudFormation's drift APIs stood in for", function () {
    this.timeout(180_000);
    let moto: Moto;
    let accounts: Accounts;
    /** The drift-check project's role in the tools account (`<prefix>-drift`) and a session of it. */
    let checkRole: RoleModel;
    let checkSession: SessionCredentials;
    let credentials: ContainerCredentials;
    let projectEnv: Record<string, string>;
    let dev: TargetOutputsOf<"serverless">;
    let prod: TargetOutputsOf<"serverless">;
    let sns: SNSClient;
    let subscriber: Server;
    let delivered: Notification[];
    let build = 0;

    const denials = () =>
        moto
            .log()
            .split("\n")
            .filter((l) => l.startsWith("moto-iam: denied"));
    /** moto's refusals logged after the first `from`, once one matches `expected` (moto's log arrives a little after its answer). */
    async function denialsSince(from: number, expected: RegExp): Promise<string> {
        const deadline = Date.now() + 3000;
        let logged = denials().slice(from).join("\n");
        while (!expected.test(logged) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
            logged = denials().slice(from).join("\n");
        }
        return logged;
    }

    before(async () => {
        const started = Date.now();
        moto = await startMoto();
        accounts = await setUpAccounts(moto);
        ({ target: dev } = accounts);
        ({ target: prod } = accounts.prod);
        const tools = accounts.stacks.tools;
        projectEnv = projectEnvironment(tools, `${SERVICE}-drift`);
        checkRole = tools.role("drift-check-role");
        checkSession = await codeBuildSession(accounts.admin.tools, checkRole, "AWSCodeBuild-drift");

        // The pipeline's topic, with an HTTP subscriber that collects what the check publishes (moto delivers to an
        // http subscription while it handles the Publish, so a message is here once the publish returned).
        sns = new SNSClient({ endpoint: moto.url, region: dev.region, credentials: accounts.admin.tools.iam.config.credentials });
        const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: projectEnv.NOTIFICATION_TOPIC_ARN.split(":").pop()! }));
        expect(TopicArn).to.equal(projectEnv.NOTIFICATION_TOPIC_ARN);
        delivered = [];
        subscriber = createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                const { Type, Subject, Message } = JSON.parse(body);
                if (Type === "Notification") delivered.push({ Subject, Message });
                res.end();
            });
        });
        await new Promise<void>((r) => subscriber.listen(0, "127.0.0.1", r));
        const endpoint = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/`;
        await sns.send(new SubscribeCommand({ TopicArn, Protocol: "http", Endpoint: endpoint }));

        await moto.enforceIam();
        credentials = await serveContainerCredentials(() => checkSession);
        console.log(`      timing: setup: ${Date.now() - started} ms`);
    });

    after(async () => {
        sns?.destroy();
        subscriber?.closeAllConnections();
        await new Promise<void>((r) => (subscriber ? subscriber.close(() => r()) : r()));
        if (accounts) for (const c of [...Object.values(accounts.admin), accounts.prod.admin]) destroyClients(c);
        await credentials?.close();
        await moto?.stop();
    });

    /** What was published since the last call. */
    const notifications = () => delivered.splice(0, delivered.length);

    /** One scheduled run: `node <kit> drift` in a fresh workspace, its AWS calls through the drift front. */
    async function runCheck(scenarios: Record<string, DriftScenario>, env: Record<string, string> = {}) {
        const front: DriftFront = await startDriftFront({ moto: moto.url, scenarios: new Map(Object.entries(scenarios)) });
        const buildNumber = ++build;
        const workspace = await createWorkspace({
            endpoint: front.url,
            credentialsUrl: credentials.url,
            env: { ...projectEnv, DRIFT_POLL_SECONDS: "0.2", ...env },
            buildNumber,
        });
        const from = denials().length;
        try {
            const run = await workspace.runKit("drift");
            return {
                ...run,
                buildNumber,
                calls: front.calls,
                sessions: front.sessions,
                messages: notifications(),
                denials: denials().slice(from),
            };
        } finally {
            workspace.remove();
            await front.close();
        }
    }

    const key = (t: TargetOutputsOf<"serverless">) => `${t.accountId}/${t.region}/${SERVICE}-${t.stage}`;
    const inSync: DriftScenario = { drifts: [] };
    const deleted: DriftScenario = {
        drifts: [
            {
                LogicalResourceId: "ProductsTable",
                PhysicalResourceId: "t",
                ResourceType: "AWS::DynamoDB::Table",
                StackResourceDriftStatus: "DELETED",
            },
        ],
    };
    const escape = (s: string) => s.replace(/[/.*+?()[\]]/g, "\\$&");

    it("checks every target the tools stack configures, each through its own read-only drift role, and publishes nothing when all are in sync", async () => {
        expect(JSON.parse(projectEnv.DRIFT_TARGETS).map((t: TargetOutputsOf<"serverless">) => [t.stage, t.driftRoleArn])).to.deep.equal([
            [dev.stage, dev.driftRoleArn],
            [prod.stage, prod.driftRoleArn],
        ]);
        const run = await runCheck({ [key(dev)]: inSync, [key(prod)]: inSync });
        expect(run.code, run.output).to.equal(0);
        for (const t of [dev, prod])
            expect(run.output).to.include(`drift-check: ${t.stage}: ${SERVICE}-${t.stage} is in sync with its template`);
        expect(run.output).to.include("drift-check: checked 2 stage(s)");
        expect(run.messages).to.deep.equal([]);
        // each target's drift role, assumed by the CLI from the profile the kit wrote, named after the build
        expect(run.sessions.map((s) => [s.roleArn, s.sessionName])).to.deep.equal([
            [dev.driftRoleArn, `drift-${run.buildNumber}-dev`],
            [prod.driftRoleArn, `drift-${run.buildNumber}-prod`],
        ]);
        // every drift call is signed by its own target's drift role, never by the drift-check role itself
        const byStack = Object.fromEntries([dev, prod].map((t) => [`${SERVICE}-${t.stage}`, t.driftRoleArn]));
        expect(run.calls.map((c) => c.action)).to.include.members(["DetectStackDrift", "DescribeStackDriftDetectionStatus"]);
        for (const call of run.calls) expect(call.roleArn, `${call.action} ${call.stack}`).to.equal(byStack[call.stack]);
        expect(run.calls.some((c) => c.accessKeyId === checkSession.accessKeyId)).to.equal(false);
        expect(run.denials, "requests moto refused").to.deep.equal([]);
    });

    it("publishes one message for the drifted stage, naming each resource and property that differs, and prints no secret", async () => {
        const run = await runCheck({
            [key(dev)]: {
                drifts: [
                    {
                        LogicalResourceId: "ProductsTable",
                        PhysicalResourceId: `${SERVICE}-dev-products`,
                        ResourceType: "AWS::DynamoDB::Table",
                        StackResourceDriftStatus: "MODIFIED",
                        PropertyDifferences: [
                            {
                                PropertyPath: "/BillingMode",
                                ExpectedValue: "PAY_PER_REQUEST",
                                ActualValue: "PROVISIONED",
                                DifferenceType: "NOT_EQUAL",
                            },
                            {
                                PropertyPath: "/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled",
                                ExpectedValue: "true",
                                ActualValue: "false",
                                DifferenceType: "NOT_EQUAL",
                            },
                        ],
                    },
                    {
                        LogicalResourceId: "FindProductLambdaFunction",
                        PhysicalResourceId: `${SERVICE}-dev-findProduct`,
                        ResourceType: "AWS::Lambda::Function",
                        StackResourceDriftStatus: "DELETED",
                    },
                ],
            },
            [key(prod)]: inSync,
        });
        expect(run.code, run.output).to.equal(0);
        expect(run.output).to.include(
            "drift-check: dev: product-catalog-service-dev has drifted (ProductsTable, FindProductLambdaFunction)",
        );
        expect(run.output).to.include("drift-check: prod: product-catalog-service-prod is in sync");
        expect(run.messages).to.have.length(1);
        const [message] = run.messages;
        expect(message.Subject).to.equal(`Drift: ${SERVICE} dev (${dev.accountId})`);
        const lines = message.Message.split("\n");
        expect(lines[0]).to.equal(
            `Stack ${SERVICE}-dev in account ${dev.accountId} (${dev.region}) has drifted from its template: 2 resources differ.`,
        );
        expect(lines).to.include.members([
            `ProductsTable (AWS::DynamoDB::Table, ${SERVICE}-dev-products): MODIFIED`,
            '  /BillingMode: expected "PAY_PER_REQUEST", actual "PROVISIONED" (NOT_EQUAL)',
            '  /PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled: expected "true", actual "false" (NOT_EQUAL)',
            `FindProductLambdaFunction (AWS::Lambda::Function, ${SERVICE}-dev-findProduct): DELETED`,
        ]);
        expect(message.Message).to.match(new RegExp(`Drift detection [0-9a-f-]+, drift check build ${run.buildNumber}\\.`));
        const secrets = [checkSession, ...run.sessions].flatMap((s) => [s.secretAccessKey, s.sessionToken]);
        expect(secrets.length).to.be.greaterThan(2);
        expect(secrets.filter((s) => run.output.includes(s) || message.Message.includes(s))).to.deep.equal([]);
    });

    it("a stage it cannot check fails the build (exit 1) and is published, and the other stages are still checked", async () => {
        const run = await runCheck({
            [key(dev)]: { detectionFailed: "Failed to detect drift on resource [ProductsTable]: access denied" },
            // no scenario for prod: its stack does not exist (never deployed)
        });
        expect(run.code, run.output).to.equal(1);
        expect(run.output).to.match(
            /drift-check: dev: drift detection [0-9a-f-]+ failed: Failed to detect drift on resource \[ProductsTable\]: access denied/,
        );
        expect(run.output).to.match(/drift-check: prod: .*Stack with id product-catalog-service-prod does not exist/);
        expect(run.output).to.include("deploy-kit: ERROR: 2 of 2 stage(s) could not be checked (published to the topic)");
        expect(run.messages.map((m) => m.Subject).sort()).to.deep.equal([
            `Drift check failed: ${SERVICE} dev`,
            `Drift check failed: ${SERVICE} prod`,
        ]);
        expect(run.messages.find((m) => m.Subject.endsWith("prod"))!.Message).to.contain(
            `Drift detection on ${SERVICE}-prod in account ${prod.accountId} failed`,
        );
    });

    it("a target whose role it may not assume is reported and published, and fails the build: a deploy role in place of the drift role", async () => {
        const targets = JSON.parse(projectEnv.DRIFT_TARGETS) as TargetOutputsOf<"serverless">[];
        const tampered = targets.map((t) => (t.stage === "dev" ? { ...t, driftRoleArn: t.deployRoleArn } : t));
        const run = await runCheck({ [key(dev)]: inSync, [key(prod)]: inSync }, { DRIFT_TARGETS: JSON.stringify(tampered) });
        expect(run.code, run.output).to.equal(1);
        expect(run.output).to.include(`drift-check: dev: cannot assume ${dev.deployRoleArn}`);
        expect(run.output).to.include("drift-check: prod: product-catalog-service-prod is in sync");
        expect(run.messages.map((m) => m.Subject)).to.deep.equal([`Drift check failed: ${SERVICE} dev`]);
        expect(run.messages[0].Message).to.include(`The drift check could not assume ${dev.deployRoleArn}`);
        expect(run.denials.join("\n")).to.include(`assumed-role/${checkRole.name}/AWSCodeBuild-drift sts:AssumeRole ${dev.deployRoleArn}`);
        expect(run.sessions.map((s) => s.roleArn)).to.deep.equal([prod.driftRoleArn]);
        expect(run.calls.filter((c) => c.stack === `${SERVICE}-dev`)).to.deep.equal([]);
    });

    it("moto enforces the drift role's policy on the drift calls: without its DetectStackDrift statement, dev cannot be checked", async () => {
        const role = accounts.stacks.target.role("drift-role");
        const [inline] = role.inline;
        const put = (policy: object) =>
            accounts.admin.target.iam.send(
                new PutRolePolicyCommand({ RoleName: role.name, PolicyName: inline.name, PolicyDocument: JSON.stringify(policy) }),
            );
        const without = {
            ...inline.policy,
            Statement: inline.policy.Statement.filter((s: { Sid?: string }) => s.Sid !== "DetectStackDrift"),
        };
        expect(without.Statement).to.have.length(inline.policy.Statement.length - 1);
        await put(without);
        try {
            const run = await runCheck({ [key(dev)]: inSync, [key(prod)]: inSync });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.match(/drift-check: dev: .*AccessDenied/);
            expect(run.output).to.include("drift-check: prod: product-catalog-service-prod is in sync");
            expect(run.calls.filter((c) => c.denied).map((c) => [c.action, c.stack])).to.deep.equal([
                ["DetectStackDrift", `${SERVICE}-dev`],
            ]);
            expect(run.denials.join("\n")).to.match(
                new RegExp(
                    `assumed-role/${role.name}/drift-${run.buildNumber}-dev cloudformation:DetectStackDrift arn:aws:cloudformation:${dev.region}:${dev.accountId}:stack/${SERVICE}-dev/`,
                ),
            );
            expect(run.messages.map((m) => m.Subject)).to.deep.equal([`Drift check failed: ${SERVICE} dev`]);
        } finally {
            await put(inline.policy);
        }
    });

    it("the drift-check role's policy is enforced: without its publish statement, moto refuses and the build fails", async () => {
        const [inline] = checkRole.inline;
        const put = (policy: object) =>
            accounts.admin.tools.iam.send(
                new PutRolePolicyCommand({ RoleName: checkRole.name, PolicyName: inline.name, PolicyDocument: JSON.stringify(policy) }),
            );
        const without = { ...inline.policy, Statement: inline.policy.Statement.filter((s: { Sid?: string }) => s.Sid !== "Publish") };
        expect(without.Statement).to.have.length(inline.policy.Statement.length - 1);
        await put(without);
        try {
            const run = await runCheck({ [key(dev)]: deleted, [key(prod)]: inSync });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.match(
                /could not publish "Drift: product-catalog-service dev \(222222222222\)"[\s\S]*(AccessDenied|AuthorizationError)/,
            );
            expect(run.messages).to.deep.equal([]);
            expect(run.denials.join("\n")).to.include(
                `moto-iam: denied arn:aws:sts::${checkRole.accountId}:assumed-role/${checkRole.name}/AWSCodeBuild-drift sns:Publish ${projectEnv.NOTIFICATION_TOPIC_ARN}`,
            );
        } finally {
            await put(inline.policy);
        }
    });

    it("refuses a bad environment with a clear message (exit 2), before any AWS call", async () => {
        const run = await runCheck({}, { DRIFT_TARGETS: '[{"stage": "Dev"}]' });
        expect(run.code, run.output).to.equal(2);
        expect(run.output).to.match(/deploy-kit: ERROR: DRIFT_TARGETS\[0\] has no output "serviceName", "accountId"/);
        expect([run.calls, run.sessions, run.messages]).to.deep.equal([[], [], []]);
        const notJson = await runCheck({}, { DRIFT_TARGETS: "" });
        expect(notJson.code, notJson.output).to.equal(2);
        expect(notJson.output).to.include("deploy-kit: ERROR: DRIFT_TARGETS must be a JSON list of target stack outputs");
        const bad = await runCheck({}, { NOTIFICATION_TOPIC_ARN: "my-topic" });
        expect(bad.code, bad.output).to.equal(2);
        expect(bad.output).to.include("deploy-kit: ERROR: NOTIFICATION_TOPIC_ARN must be an SNS topic ARN");
        expect(bad.sessions).to.deep.equal([]);
    });

    // What a drift role session can do, as moto enforces it: read, never deploy; and the drift-check role reaches
    // the drift roles only.
    describe("a drift role session cannot deploy", () => {
        let drift: Clients;
        let sessionArn: string;
        const stack = `${SERVICE}-dev`;
        const lambdaTrust = {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
        };

        before(async () => {
            // the function role as the stage's stack creates it (moto authorises IAM calls on a missing role against "*")
            await accounts.admin.target.iam.send(
                new CreateRoleCommand({ RoleName: `${stack}-lambda`, AssumeRolePolicyDocument: JSON.stringify(lambdaTrust) }),
            );
            const check = clients(moto, dev.region, checkSession);
            try {
                const { Credentials: c, AssumedRoleUser } = await check.sts.send(
                    new AssumeRoleCommand({ RoleArn: dev.driftRoleArn, RoleSessionName: "deploy-attempt" }),
                );
                sessionArn = AssumedRoleUser!.Arn!;
                drift = clients(moto, dev.region, {
                    accessKeyId: c!.AccessKeyId!,
                    secretAccessKey: c!.SecretAccessKey!,
                    sessionToken: c!.SessionToken!,
                });
            } finally {
                destroyClients(check);
            }
        });
        after(() => drift && destroyClients(drift));

        /** The call is refused, and moto's log names this session and the action. */
        const refused = async (action: string, call: Promise<unknown>) => {
            const from = denials().length;
            const error = await call.then(
                () => undefined,
                (e) => e,
            );
            expect(error, `${action} was allowed`).to.be.instanceOf(Error);
            // HTTP 403 (moto answers a refused Lambda call in XML, which the JSON client cannot parse; its log says why)
            expect(error.$metadata?.httpStatusCode, `${action}: ${error.name}`).to.equal(403);
            const expected = `moto-iam: denied ${sessionArn} ${action} `;
            expect(await denialsSince(from, new RegExp(escape(expected))), action).to.include(expected);
        };

        it("it reads what drift detection reads (the session works): the function and its role", async () => {
            const fn = await drift.lambda.send(new GetFunctionCommand({ FunctionName: `${stack}-createProduct` })).then(
                () => "found",
                (e: Error) => e.name,
            );
            expect(fn, "lambda:GetFunction is allowed (the function does not exist)").to.equal("ResourceNotFoundException");
            const role = await drift.iam.send(new GetRoleCommand({ RoleName: `${stack}-lambda` })).then(
                () => "found",
                (e: Error) => e.name,
            );
            expect(role, "iam:GetRole is allowed").to.equal("found");
        });

        it("moto refuses it a change set, a stack update or delete, an upload to the deployment bucket, new function code and a role policy", async () => {
            const template = JSON.stringify({ Resources: { Topic: { Type: "AWS::SNS::Topic" } } });
            await refused(
                "cloudformation:CreateChangeSet",
                drift.cloudFormation.send(
                    new CreateChangeSetCommand({
                        StackName: stack,
                        ChangeSetName: "drift",
                        ChangeSetType: "CREATE",
                        TemplateBody: template,
                    }),
                ),
            );
            await refused(
                "cloudformation:UpdateStack",
                drift.cloudFormation.send(new UpdateStackCommand({ StackName: stack, TemplateBody: template })),
            );
            await refused("cloudformation:DeleteStack", drift.cloudFormation.send(new DeleteStackCommand({ StackName: stack })));
            await refused(
                "s3:PutObject",
                drift.s3.send(
                    new PutObjectCommand({ Bucket: dev.deploymentBucketName, Key: `serverless/${SERVICE}/dev/x.zip`, Body: "x" }),
                ),
            );
            await refused(
                "lambda:UpdateFunctionCode",
                drift.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: `${stack}-createProduct`, ZipFile: Buffer.from("x") })),
            );
            await refused(
                "iam:PutRolePolicy",
                drift.iam.send(
                    new PutRolePolicyCommand({
                        RoleName: `${stack}-lambda`,
                        PolicyName: "x",
                        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
                    }),
                ),
            );
        });

        it("nor assume the target's deploy role", async () => {
            await refused("sts:AssumeRole", drift.sts.send(new AssumeRoleCommand({ RoleArn: dev.deployRoleArn, RoleSessionName: "x" })));
        });
    });

    describe("the drift-check role reaches the drift roles only", () => {
        const refusedAssume = async (session: SessionCredentials, roleArn: string, denial: RegExp) => {
            const from = denials().length;
            const c = clients(moto, dev.region, session);
            try {
                const error = await c.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "x" })).then(
                    () => undefined,
                    (e) => e,
                );
                expect(error, `assumed ${roleArn}`).to.be.instanceOf(Error);
                expect(error.name).to.match(/AccessDenied/);
                expect(await denialsSince(from, denial)).to.match(denial);
            } finally {
                destroyClients(c);
            }
        };

        it("cannot assume a deploy role (its policy names the drift roles only)", async () => {
            for (const t of [dev, prod]) {
                await refusedAssume(
                    checkSession,
                    t.deployRoleArn,
                    new RegExp(`${escape(checkRole.name)}/AWSCodeBuild-drift sts:AssumeRole ${escape(t.deployRoleArn)}`),
                );
            }
        });

        it("cannot assume a deploy role even when its own policy would allow it: the deploy role trusts its stage's build role only", async () => {
            const widened = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] };
            await accounts.admin.tools.iam.send(
                new PutRolePolicyCommand({
                    RoleName: checkRole.name,
                    PolicyName: "careless-edit",
                    PolicyDocument: JSON.stringify(widened),
                }),
            );
            try {
                await refusedAssume(
                    checkSession,
                    dev.deployRoleArn,
                    new RegExp(`sts:AssumeRole ${escape(dev.deployRoleArn)} \\(trust policy\\)`),
                );
            } finally {
                await accounts.admin.tools.iam.send(new DeleteRolePolicyCommand({ RoleName: checkRole.name, PolicyName: "careless-edit" }));
            }
        });

        it("and a stage's build role, even with a widened policy, cannot assume the drift role: it trusts the drift check only", async () => {
            const widened = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] };
            const role = accounts.buildRole;
            await accounts.admin.tools.iam.send(
                new PutRolePolicyCommand({ RoleName: role.name, PolicyName: "careless-edit", PolicyDocument: JSON.stringify(widened) }),
            );
            try {
                await refusedAssume(
                    accounts.buildSession,
                    dev.driftRoleArn,
                    new RegExp(`sts:AssumeRole ${escape(dev.driftRoleArn)} \\(trust policy\\)`),
                );
            } finally {
                await accounts.admin.tools.iam.send(new DeleteRolePolicyCommand({ RoleName: role.name, PolicyName: "careless-edit" }));
            }
        });
    });
});
