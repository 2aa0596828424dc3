/**
 * The drift check for real: buildspec-drift.yml's commands in a workspace laid out as the project's source
 * archive (DRIFT_CHECK_FILES), with the drift-check role's container credentials, against moto with IAM access
 * control on (STS, SNS) and the drift stand-in (./cloudformation-drift.ts) for CloudFormation's drift APIs, which
 * moto lacks. The roles come from the evaluated stacks: the drift-check role from the tools stack, the deploy roles
 * from the dev and prod target stacks; the project's environment (targets, topic) is the one the tools stack gives it.
 */
import { PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { DRIFT_CHECK_FILES } from "../../components/drift-detection";
import { startMoto, Moto } from "../helpers/moto";
import { shippedStacks, TARGET_STACKS } from "../helpers/shipped-stacks";
import { ROOT } from "../helpers/stack-files";
import { modelStack, StackModel } from "../iam/policies-from-stacks";
import { Clients, codeBuildSession, createAdministrator, createTargetStack, destroyClients, SessionCredentials } from "../deploy/accounts";
import { ContainerCredentials, createWorkspace, serveContainerCredentials, Workspace } from "../deploy/codebuild";
import { DriftFront, DriftScenario, startDriftFront } from "./cloudformation-drift";

const SERVICE = "product-catalog-service";
const REGION = "us-east-1";

interface Notification {
    Subject: string;
    Message: string;
}

describe("drift check (buildspec-drift.yml) against moto, IAM enforced, with CloudFormation's drift APIs stood in for", function () {
    this.timeout(120_000);
    let moto: Moto;
    let tools: StackModel;
    let targets: StackModel[];
    let admins: Clients[];
    let driftSession: SessionCredentials;
    let credentials: ContainerCredentials;
    let projectEnv: Record<string, string>;
    let sns: SNSClient;
    let subscriber: Server;
    let delivered: Notification[];
    let commands: string[];

    /** The project's environment variables, as the tools stack sets them on the drift-check project. */
    function driftProjectEnvironment(): Record<string, string> {
        const project = tools.cloud.ofType("aws:codebuild/project:Project").find((p) => p.inputs.name === `${SERVICE}-drift`);
        if (!project) throw new Error("the tools stack has no drift-check project");
        return Object.fromEntries(project.inputs.environment.environmentVariables.map((v: any) => [v.name, v.value]));
    }

    before(async () => {
        moto = await startMoto();
        const shipped = await shippedStacks();
        tools = modelStack("tools", shipped.tools.cloud, shipped.tools.outputs);
        targets = Object.entries(TARGET_STACKS).map(([name, { file }]) =>
            modelStack(
                file,
                shipped.targets[name as keyof typeof TARGET_STACKS].cloud,
                shipped.targets[name as keyof typeof TARGET_STACKS].outputs,
            ),
        );
        projectEnv = driftProjectEnvironment();

        const toolsAdmin = await createAdministrator(moto, REGION, tools.roles[0].accountId);
        admins = [toolsAdmin];
        for (const target of targets) {
            const admin = await createAdministrator(moto, REGION, target.outputs.accountId);
            admins.push(admin);
            await createTargetStack(admin, target);
        }
        driftSession = await codeBuildSession(toolsAdmin, tools.role("drift-role"), "AWSCodeBuild-drift");

        // The pipeline's topic, with an HTTP subscriber that collects what the check publishes (moto delivers to an
        // http subscription while it handles the Publish, so a message is here once the publish returned).
        sns = new SNSClient({ endpoint: moto.url, region: REGION, credentials: toolsAdmin.iam.config.credentials });
        const topicName = projectEnv.NOTIFICATION_TOPIC_ARN.split(":").pop()!;
        const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: topicName }));
        expect(TopicArn).to.equal(projectEnv.NOTIFICATION_TOPIC_ARN);
        delivered = [];
        subscriber = createServer((req, res) => {
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                const { Subject, Message } = JSON.parse(body);
                delivered.push({ Subject, Message });
                res.end();
            });
        });
        await new Promise<void>((r) => subscriber.listen(0, "127.0.0.1", r));
        const endpoint = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}/`;
        await sns.send(new SubscribeCommand({ TopicArn, Protocol: "http", Endpoint: endpoint }));

        await moto.enforceIam();
        credentials = await serveContainerCredentials(() => driftSession);
        commands = (yaml.load(readFileSync(join(ROOT, "buildspec-drift.yml"), "utf8")) as any).phases.build.commands;
    });

    after(async () => {
        sns?.destroy();
        subscriber?.closeAllConnections();
        await new Promise<void>((r) => (subscriber ? subscriber.close(() => r()) : r()));
        for (const admin of admins ?? []) destroyClients(admin);
        await credentials?.close();
        await moto?.stop();
    });

    /** What was published since the last call. */
    function notifications(): Notification[] {
        return delivered.splice(0, delivered.length);
    }

    /** One scheduled run: the buildspec's build commands, in a fresh workspace, through the drift front. */
    async function runCheck(scenarios: Record<string, DriftScenario>, env: Record<string, string> = {}) {
        const front: DriftFront = await startDriftFront({ moto: moto.url, scenarios: new Map(Object.entries(scenarios)) });
        const workspace: Workspace = await createWorkspace({
            endpoint: front.url,
            credentialsUrl: credentials.url,
            env: { ...projectEnv, DRIFT_POLL_SECONDS: "0.2", ...env },
            files: DRIFT_CHECK_FILES,
        });
        try {
            const run = await workspace.run(["bash", "-c", commands.join(" && ")]);
            const cache = join(workspace.env.HOME!, ".aws", "cli", "cache");
            const sessions = existsSync(cache)
                ? readdirSync(cache).map((f) => JSON.parse(readFileSync(join(cache, f), "utf8")).Credentials)
                : [];
            return { ...run, calls: front.calls, sessions, messages: notifications() };
        } finally {
            workspace.remove();
            await front.close();
        }
    }

    const key = (t: StackModel) => `${t.outputs.accountId}/${REGION}/${SERVICE}-${t.outputs.stage}`;
    const inSync: DriftScenario = { drifts: [] };

    it("checks every target the tools stack configures, each through its own deploy role, and publishes nothing when all are in sync", async () => {
        expect(JSON.parse(projectEnv.DRIFT_TARGETS).map((t: any) => t.stage)).to.deep.equal(targets.map((t) => t.outputs.stage));
        const run = await runCheck(Object.fromEntries(targets.map((t) => [key(t), inSync])));
        expect(run.code, run.output).to.equal(0);
        for (const t of targets)
            expect(run.output).to.include(`drift-check: ${t.outputs.stage}: ${SERVICE}-${t.outputs.stage} is in sync with its template`);
        expect(run.messages).to.deep.equal([]);
        // every drift call was signed by a deploy-role session the CLI assumed, never by the drift role's own
        expect(run.calls.map((c) => c.action)).to.include.members(["DetectStackDrift", "DescribeStackDriftDetectionStatus"]);
        const assumedKeys = run.sessions.map((s) => s.AccessKeyId);
        expect(run.calls.every((c) => assumedKeys.includes(c.accessKeyId!))).to.equal(true);
        expect(run.calls.some((c) => c.accessKeyId === driftSession.accessKeyId)).to.equal(false);
        expect(moto.log(), "requests moto refused").to.not.contain("moto-iam: denied");
    });

    it("publishes one message for the drifted stage, naming each resource and property that differs, and prints no secret", async () => {
        const [dev, prod] = targets;
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
        expect(run.messages).to.have.length(1);
        const [message] = run.messages;
        expect(message.Subject).to.equal(`Drift: ${SERVICE} dev (${dev.outputs.accountId})`);
        const lines = message.Message.split("\n");
        expect(lines[0]).to.equal(
            `Stack ${SERVICE}-dev in account ${dev.outputs.accountId} (${REGION}) has drifted from its template: 2 resources differ.`,
        );
        expect(lines).to.include.members([
            `ProductsTable (AWS::DynamoDB::Table, ${SERVICE}-dev-products): MODIFIED`,
            '  /BillingMode: expected "PAY_PER_REQUEST", actual "PROVISIONED" (NOT_EQUAL)',
            '  /PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled: expected "true", actual "false" (NOT_EQUAL)',
            `FindProductLambdaFunction (AWS::Lambda::Function, ${SERVICE}-dev-findProduct): DELETED`,
        ]);
        expect(run.output).to.include("drift-check: prod: product-catalog-service-prod is in sync");
        const secrets = [
            driftSession,
            ...run.sessions.map((s) => ({ secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken })),
        ].flatMap((s) => [s.secretAccessKey, s.sessionToken]);
        expect(secrets.length).to.be.greaterThan(2);
        expect(secrets.filter((s) => run.output.includes(s) || message.Message.includes(s))).to.deep.equal([]);
    });

    it("a stage it cannot check fails the build and is published, and the other stages are still checked", async () => {
        const [dev, prod] = targets;
        const run = await runCheck({
            [key(dev)]: { detectionFailed: "Failed to detect drift on resource [ProductsTable]: access denied" },
            // no scenario for prod: its stack does not exist
        });
        expect(run.code, run.output).to.equal(1);
        expect(run.output).to.match(
            /drift-check: dev: drift detection [0-9a-f-]+ failed: Failed to detect drift on resource \[ProductsTable\]: access denied/,
        );
        expect(run.output).to.match(/drift-check: prod: .*Stack with id product-catalog-service-prod does not exist/);
        expect(run.output).to.include("drift-check: ERROR: 2 of 2 stage(s) could not be checked (published to the topic)");
        expect(run.messages.map((m) => m.Subject).sort()).to.deep.equal([
            `Drift check failed: ${SERVICE} dev`,
            `Drift check failed: ${SERVICE} prod`,
        ]);
        expect(run.messages.find((m) => m.Subject.endsWith("prod"))!.Message).to.contain(`in account ${prod.outputs.accountId}`);
    });

    it("the drift-check role's policy is enforced: without its publish statement, moto refuses and the build fails", async () => {
        const [dev, prod] = targets;
        const role = tools.role("drift-role");
        const [inline] = role.inline;
        const put = (policy: object) =>
            admins[0].iam.send(
                new PutRolePolicyCommand({ RoleName: role.name, PolicyName: inline.name, PolicyDocument: JSON.stringify(policy) }),
            );
        await put({ ...inline.policy, Statement: inline.policy.Statement.filter((st: { Sid?: string }) => st.Sid !== "PublishDrift") });
        try {
            const drifted: DriftScenario = {
                drifts: [
                    {
                        LogicalResourceId: "ProductsTable",
                        PhysicalResourceId: "t",
                        ResourceType: "AWS::DynamoDB::Table",
                        StackResourceDriftStatus: "DELETED",
                    },
                ],
            };
            const run = await runCheck({ [key(dev)]: drifted, [key(prod)]: inSync });
            expect(run.code, run.output).to.equal(1);
            expect(run.output).to.match(/could not publish "Drift: product-catalog-service dev \(222222222222\)".*AccessDenied/s);
            expect(run.messages).to.deep.equal([]);
            expect(moto.log()).to.contain(
                `moto-iam: denied arn:aws:sts::${tools.roles[0].accountId}:assumed-role/${role.name}/AWSCodeBuild-drift sns:Publish ${projectEnv.NOTIFICATION_TOPIC_ARN}`,
            );
        } finally {
            await put(inline.policy);
        }
    });

    it("refuses a bad environment with a clear message, before any AWS call", async () => {
        const run = await runCheck({}, { DRIFT_TARGETS: '[{"stage": "Dev"}]' });
        expect(run.code).to.equal(2);
        expect(run.output).to.include('drift-check: ERROR: DRIFT_TARGETS[0] has no "accountId"');
        expect(run.calls).to.deep.equal([]);
        const bad = await runCheck({}, { NOTIFICATION_TOPIC_ARN: "my-topic" });
        expect(bad.code).to.equal(2);
        expect(bad.output).to.include("drift-check: ERROR: NOTIFICATION_TOPIC_ARN 'my-topic' is not an SNS topic ARN");
    });
});
