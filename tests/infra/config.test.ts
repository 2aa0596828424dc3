import { expect } from "chai";
import { ConfigError, readStackConfig, StackConfig, TargetConfig, ToolsConfig } from "../../config";
import { DEFAULT_BUILD_ROLE_PREFIX, DEFAULT_PULUMI_CLI_VERSION, SERVICE_NAME } from "../../components/domain";
import { accountIdProblem, policyArnProblem, roleArnProblem } from "../../components/identifiers";
import { stageCollisionProblems } from "../../components/pipeline-model";
import { loadStackFile, loadYaml, toolsStackWithProd } from "../helpers/stack-files";

const PROJECT = "serverless-cross-account-cicd";

/** Reads config from a plain map the way pulumi.Config#get does (objects arrive as JSON). */
function read(values: Record<string, unknown>): StackConfig {
    return readStackConfig((key) => {
        const v = values[key];
        return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
    });
}

function problemsOf(values: Record<string, unknown>): string[] {
    try {
        read(values);
    } catch (e) {
        expect(e).to.be.instanceOf(ConfigError);
        return (e as ConfigError).problems as string[];
    }
    throw new Error("expected a ConfigError");
}

const target = { role: "target", stage: "dev", toolsAccountId: "111111111111" };
const tools = { role: "tools", stages: [{ name: "dev", targetStack: "acme/proj/target-dev" }] };

/** Strips the project namespace from a shipped stack file's keys. */
function shipped(file: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(loadStackFile(file))) {
        if (k.startsWith(`${PROJECT}:`)) out[k.slice(PROJECT.length + 1)] = v;
    }
    return out;
}

describe("stack configuration", () => {
    it("reads the shipped target stack config", () => {
        const cfg = read(shipped("Pulumi.target.yaml")) as TargetConfig;
        expect(cfg).to.deep.equal({
            role: "target",
            stage: "dev",
            toolsAccountId: "111111111111",
            pipelineBuildRoleName: DEFAULT_BUILD_ROLE_PREFIX,
            deployer: "serverless",
            logRetentionDays: 30,
        });
    });

    it("reads the shipped tools stack config: the blog's two accounts, one stage", () => {
        const cfg = read(shipped("Pulumi.tools.yaml")) as ToolsConfig;
        expect(cfg.role).to.equal("tools");
        expect(cfg.branch).to.equal("main");
        expect(cfg.buildRoleName).to.equal(DEFAULT_BUILD_ROLE_PREFIX);
        expect(cfg.source).to.deep.equal({ kind: "codecommit", repositoryName: "product-catalog-service" });
        expect(cfg.notificationEmails).to.deep.equal([]);
        expect(cfg.stages).to.deep.equal([
            {
                name: "dev",
                targetStack: "acme/serverless-cross-account-cicd/target",
                approval: false,
                smokeTest: "full",
                rollbackOnFailure: true,
            },
        ]);
        expect([cfg.deployer, cfg.driftSchedule]).to.deep.equal([{ kind: "serverless" }, "rate(1 day)"]);
    });

    it("reads the README's production step: the stage entry it shows, added to the shipped file", () => {
        const withProd = Object.fromEntries(
            Object.entries(toolsStackWithProd())
                .filter(([k]) => k.startsWith(`${PROJECT}:`))
                .map(([k, v]) => [k.slice(PROJECT.length + 1), v]),
        );
        const cfg = read(withProd) as ToolsConfig;
        expect(cfg.stages[1]).to.deep.equal({
            name: "prod",
            targetStack: "acme/serverless-cross-account-cicd/target-prod",
            approval: true,
            smokeTest: "read-only",
            rollbackOnFailure: true,
        });
    });

    it("ships example accounts only: tools 111111111111, target 222222222222", () => {
        expect(loadStackFile("Pulumi.tools.yaml")["aws:allowedAccountIds"]).to.deep.equal(["111111111111"]);
        expect(loadStackFile("Pulumi.target.yaml")["aws:allowedAccountIds"]).to.deep.equal(["222222222222"]);
        expect(loadStackFile("Pulumi.target-prod.yaml")["aws:allowedAccountIds"]).to.deep.equal(["333333333333"]);
    });

    it("applies the same defaults as Pulumi.yaml declares", () => {
        const declared = loadYaml<{ config: Record<string, { default?: unknown }> }>("Pulumi.yaml").config;
        const t = read(target) as TargetConfig;
        const p = read(tools) as ToolsConfig;
        expect(String(declared.pipelineBuildRoleName.default)).to.equal(t.pipelineBuildRoleName);
        expect(String(declared.buildRoleName.default)).to.equal(p.buildRoleName);
        expect(String(declared.repositoryName.default)).to.equal(p.source.kind === "codecommit" && p.source.repositoryName);
        expect(String(declared.sourceKind.default)).to.equal(p.source.kind);
        expect(declared.notificationEmails.default).to.deep.equal(p.notificationEmails);
        expect(declared.triggerFilePaths.default).to.deep.equal([]);
        expect(String(declared.branch.default)).to.equal(p.branch);
        expect(String(declared.deployer.default)).to.equal(p.deployer.kind).and.to.equal(t.deployer);
        expect(declared.driftSchedule.default, "empty: the deployer's default").to.equal("");
        expect(String(declared.pulumiCliVersion.default)).to.equal(DEFAULT_PULUMI_CLI_VERSION);
        expect(declared.pulumiCliSha256.default).to.equal("");
        expect(declared.permissionsBoundaryArn.default).to.equal("");
        expect(Number(declared.logRetentionDays.default)).to.equal(p.logRetentionDays);
        // Keys only some roles need carry an empty default, which must read as "not set".
        expect(declared.stage.default).to.equal("");
        expect(problemsOf({ role: "target", stage: "", toolsAccountId: "" }).join("\n")).to.match(
            /stage is required[\s\S]*toolsAccountId is required/,
        );
    });

    it("uses the service name serverless.yml deploys", () => {
        expect(loadYaml<{ service: string }>("serverless.yml").service).to.equal(SERVICE_NAME);
    });

    it("requires a role and names the valid ones", () => {
        expect(problemsOf({})).to.deep.equal(['role is required: one of "target", "tools" or "api"']);
        expect(problemsOf({ role: "pipeline" })[0]).to.equal('role must be "target", "tools" or "api"; got "pipeline"');
    });

    for (const bad of ["1234", "1111111111111", "11111111111a", " 111111111111x"]) {
        it(`rejects the account ID ${JSON.stringify(bad)}`, () => {
            const [problem] = problemsOf({ ...target, toolsAccountId: bad });
            expect(problem).to.contain("toolsAccountId must be a 12-digit AWS account ID");
            expect(problem).to.contain(JSON.stringify(bad.trim()));
        });
    }

    for (const bad of ["DEV", "1dev", "dev_1", "dev-", "a--b", "this-stage-is-too-long", "dév"]) {
        it(`rejects the stage ${JSON.stringify(bad)}`, () => {
            const [problem] = problemsOf({ ...target, stage: bad });
            expect(problem).to.match(/^stage must be 1-16 characters of lowercase letters/);
        });
    }

    for (const good of ["dev", "prod-eu", "s1", "a", "stage-sixteen-ch"]) {
        it(`accepts the stage ${JSON.stringify(good)}`, () => {
            expect((read({ ...target, stage: good }) as TargetConfig).stage).to.equal(good);
        });
    }

    for (const bad of ["feature branch", "a..b", "-main", "main/", "/main", "main.lock", "ma~in", "ref@{1}", "x/.hidden", "a:b", "a//b"]) {
        it(`rejects the branch ${JSON.stringify(bad)}`, () => {
            const [problem] = problemsOf({ ...tools, branch: bad });
            expect(problem).to.match(/^branch must be a valid git branch name/);
        });
    }

    for (const good of ["main", "release/1.x", "feature/JIRA-1_fix"]) {
        it(`accepts the branch ${JSON.stringify(good)}`, () => {
            expect((read({ ...tools, branch: good }) as ToolsConfig).branch).to.equal(good);
        });
    }

    it("rejects stages that are missing, empty, malformed or duplicated", () => {
        expect(problemsOf({ role: "tools" })[0]).to.match(/^stages is required/);
        expect(problemsOf({ role: "tools", stages: [] })[0]).to.match(/^stages must be a non-empty list/);
        expect(problemsOf({ role: "tools", stages: "{not json" })[0]).to.match(/^stages must be a YAML list/);
        expect(problemsOf({ role: "tools", stages: [{ name: "dev", targetStack: "target-dev" }] })[0]).to.match(
            /^stages\[0\]\.targetStack must be a fully qualified stack name/,
        );
        expect(problemsOf({ role: "tools", stages: [{ name: "dev", targetStack: "a/b/c", approve: true }] })[0]).to.match(
            /^stages\[0\] has unknown key\(s\) approve; allowed: name, targetStack, approval, smokeTest, rollbackOnFailure/,
        );
        expect(problemsOf({ role: "tools", stages: [{ name: "dev", targetStack: "a/b/c", approval: "yes" }] })[0]).to.equal(
            'stages[0].approval must be true or false; got "yes"',
        );
        expect(problemsOf({ role: "tools", stages: [{ name: "dev", targetStack: "a/b/c", rollbackOnFailure: "no" }] })[0]).to.equal(
            'stages[0].rollbackOnFailure must be true or false; got "no"',
        );
        expect(problemsOf({ role: "tools", stages: [{ name: "dev", targetStack: "a/b/c", smokeTest: "none" }] })[0]).to.match(
            /^stages\[0\]\.smokeTest must be "full" \(creates and reads a product\) or "read-only"/,
        );
        expect(
            problemsOf({
                role: "tools",
                stages: [
                    { name: "dev", targetStack: "a/b/c" },
                    { name: "dev", targetStack: "a/b/d" },
                ],
            }),
        ).to.deep.equal(['stages has the name "dev" more than once; stage names must be unique']);
    });

    it("rolls a stage back on failure unless it says otherwise", () => {
        const cfg = read({
            role: "tools",
            stages: [
                { name: "dev", targetStack: "a/b/c" },
                { name: "prod", targetStack: "a/b/d", rollbackOnFailure: false },
            ],
        }) as ToolsConfig;
        expect(cfg.stages.map((s) => s.rollbackOnFailure)).to.deep.equal([true, false]);
    });

    describe("drift schedule", () => {
        for (const [given, schedule] of [
            [undefined, "rate(1 day)"],
            ["daily", "rate(1 day)"],
            ["hourly", "rate(1 hour)"],
            ["rate(12 hours)", "rate(12 hours)"],
            ["rate(1 day)", "rate(1 day)"],
            ["cron(0 6 * * ? *)", "cron(0 6 * * ? *)"],
            ["off", undefined],
        ] as const) {
            it(`reads ${JSON.stringify(given)} as ${JSON.stringify(schedule)}`, () => {
                expect((read({ ...tools, driftSchedule: given }) as ToolsConfig).driftSchedule).to.equal(schedule);
            });
        }
        for (const bad of ["weekly", "rate(1 days)", "rate(0 hours)", "rate(2 hour)", "cron(0 6 * *)", "every day"]) {
            it(`rejects ${JSON.stringify(bad)}, naming the valid forms`, () => {
                expect(problemsOf({ ...tools, driftSchedule: bad })).to.deep.equal([
                    `driftSchedule must be "daily", "hourly", "off", or an EventBridge schedule expression such as "rate(12 hours)" ` +
                        `or "cron(0 6 * * ? *)"; got ${JSON.stringify(bad)}`,
                ]);
            });
        }
    });

    describe("deployer", () => {
        const sha256 = "a".repeat(64);

        it("reads the pulumi deployer with its CLI pin, and turns drift detection off there", () => {
            const cfg = read({ ...tools, deployer: "pulumi", pulumiCliSha256: sha256.toUpperCase() }) as ToolsConfig;
            expect(cfg.deployer).to.deep.equal({ kind: "pulumi", cli: { version: DEFAULT_PULUMI_CLI_VERSION, sha256 } });
            expect(cfg.driftSchedule).to.equal(undefined);
            expect((read({ ...target, deployer: "pulumi" }) as TargetConfig).deployer).to.equal("pulumi");
        });

        it("asks for the CLI's checksum, says where to find it, and checks both pins", () => {
            const [problem] = problemsOf({ ...tools, deployer: "pulumi" });
            expect(problem).to.match(/^pulumiCliSha256 is required: the SHA-256 of pulumi-v3\.276\.0-linux-x64\.tar\.gz/);
            expect(problem).to.contain("https://github.com/pulumi/pulumi/releases/download/v3.276.0/pulumi-3.276.0-checksums.txt");
            expect(problemsOf({ ...tools, deployer: "pulumi", pulumiCliSha256: "abc", pulumiCliVersion: "latest" })).to.deep.equal([
                'pulumiCliVersion must be a release such as "3.276.0"; got "latest"',
                'pulumiCliSha256 must be 64 hexadecimal digits (a SHA-256); got "abc"',
            ]);
        });

        it("refuses a drift schedule with the pulumi deployer, and unknown deployers", () => {
            expect(problemsOf({ ...tools, deployer: "pulumi", pulumiCliSha256: sha256, driftSchedule: "daily" })[0]).to.match(
                /^driftSchedule must be "off" \(or unset\) with deployer "pulumi"/,
            );
            expect(
                (read({ ...tools, deployer: "pulumi", pulumiCliSha256: sha256, driftSchedule: "off" }) as ToolsConfig).driftSchedule,
            ).to.equal(undefined);
            for (const config of [target, tools]) {
                expect(problemsOf({ ...config, deployer: "cdk" })).to.deep.equal([
                    'deployer must be "serverless" (sls deploy through CloudFormation) or "pulumi" (pulumi up of ProductApi); got "cdk"',
                ]);
            }
        });
    });

    it("reads an api stack's boundary ARN (set by the pulumi deployer) and refuses anything else", () => {
        const api = { role: "api", stage: "dev" };
        expect(read(api)).to.deep.equal({ role: "api", stage: "dev", permissionsBoundaryArn: undefined, logRetentionDays: 30 });
        const arn = "arn:aws:iam::222222222222:policy/boundary-product-catalog-service-dev";
        expect(read({ ...api, permissionsBoundaryArn: arn })).to.include({ permissionsBoundaryArn: arn });
        expect(problemsOf({ ...api, permissionsBoundaryArn: "boundary" })[0]).to.match(/^permissionsBoundaryArn must be an IAM policy ARN/);
    });

    describe("source", () => {
        const connection = "arn:aws:codeconnections:us-east-1:111111111111:connection/0a1b2c3d-1111-2222-3333-444455556666";

        it("reads a CodeConnections source with its trigger paths", () => {
            const cfg = read({
                ...tools,
                sourceKind: "codeconnections",
                connectionArn: connection,
                fullRepositoryId: "acme/product-catalog",
                triggerFilePaths: ["functions/**"],
            }) as ToolsConfig;
            expect(cfg.source).to.deep.equal({
                kind: "codeconnections",
                connectionArn: connection,
                fullRepositoryId: "acme/product-catalog",
                triggerFilePaths: ["functions/**"],
            });
        });

        it("accepts connections created under the codestar-connections name", () => {
            const legacy = connection.replace("codeconnections", "codestar-connections");
            const cfg = read({
                ...tools,
                sourceKind: "codeconnections",
                connectionArn: legacy,
                fullRepositoryId: "acme/repo",
            }) as ToolsConfig;
            expect(cfg.source.kind === "codeconnections" && cfg.source.connectionArn).to.equal(legacy);
        });

        it("says what a CodeConnections source needs", () => {
            expect(problemsOf({ ...tools, sourceKind: "codeconnections" })).to.deep.equal([
                "connectionArn is required: the ARN of an authorized CodeConnections connection (sourceKind codeconnections)",
                'fullRepositoryId is required: "<owner>/<repository>" on the connected provider (sourceKind codeconnections)',
            ]);
            expect(
                problemsOf({ ...tools, sourceKind: "codeconnections", connectionArn: "arn:aws:iam::1:role/x", fullRepositoryId: "repo" }),
            ).to.have.length(2);
            expect(problemsOf({ ...tools, sourceKind: "github" })[0]).to.equal(
                'sourceKind must be "codecommit" or "codeconnections"; got "github"',
            );
            expect(
                problemsOf({
                    ...tools,
                    sourceKind: "codeconnections",
                    connectionArn: connection,
                    fullRepositoryId: "a/b",
                    triggerFilePaths: "functions/**",
                })[0],
            ).to.match(/^triggerFilePaths must be a YAML list of strings/);
        });
    });

    it("validates notification e-mail addresses", () => {
        expect((read({ ...tools, notificationEmails: ["team@example.com"] }) as ToolsConfig).notificationEmails).to.deep.equal([
            "team@example.com",
        ]);
        expect(problemsOf({ ...tools, notificationEmails: ["team@example.com", "not an address"] })).to.deep.equal([
            'notificationEmails has "not an address", which is not an e-mail address',
        ]);
    });

    it("reports every problem at once", () => {
        const problems = problemsOf({ role: "target", stage: "Dev", toolsAccountId: "42", logRetentionDays: "31" });
        expect(problems).to.have.length(3);
        expect(problems.join("\n")).to.match(
            /logRetentionDays must be one of CloudWatch's values[\s\S]*stage must be[\s\S]*toolsAccountId must be/,
        );
        const message = new ConfigError(problems).message;
        expect(message).to.match(/^Invalid stack configuration \(3 problems\):/);
        expect(message).to.contain("pulumi config set");
    });

    it("rejects role names IAM would reject, including the build-role names derived from the prefix", () => {
        expect(problemsOf({ ...target, pipelineBuildRoleName: "has space" })[0]).to.match(
            /^pipelineBuildRoleName must be an IAM role name/,
        );
        expect(problemsOf({ ...tools, buildRoleName: "x".repeat(65) })[0]).to.match(/^buildRoleName must be an IAM role name/);
        // the drift check's role is `<prefix>-drift`: that must fit too, even where the stage's `<prefix>-dev` does
        const sixty = "x".repeat(60);
        expect(problemsOf({ ...tools, buildRoleName: sixty })).to.deep.equal([
            `buildRoleName is too long: the derived role name ${sixty}-drift exceeds IAM's 64 characters`,
        ]);
        expect(problemsOf({ ...target, pipelineBuildRoleName: sixty })).to.deep.equal([
            `pipelineBuildRoleName is too long: the derived role name ${sixty}-drift exceeds IAM's 64 characters`,
        ]);
        // and each stage's `<prefix>-<stage>`, whose stage may be longer than "drift"
        const prefix = "x".repeat(50);
        const longStage = "stage-sixteen-ch";
        expect(problemsOf({ ...tools, buildRoleName: prefix, stages: [{ name: longStage, targetStack: "a/b/c" }] })).to.deep.equal([
            `buildRoleName is too long: the derived role name ${prefix}-${longStage} exceeds IAM's 64 characters`,
        ]);
        expect(read({ ...tools, buildRoleName: prefix })).to.include({ buildRoleName: prefix });
        expect(problemsOf({ ...tools, repositoryName: "repo.git" })[0]).to.match(/^repositoryName must be/);
    });

    describe("stage isolation", () => {
        it('refuses the stage name "drift": its build role would be the drift check\'s', () => {
            const reserved = "must not be \"drift\": the stage's build role, <buildRoleName>-drift, is the drift check's role";
            expect(problemsOf({ ...target, stage: "drift" })).to.deep.equal([`stage ${reserved}`]);
            expect(
                problemsOf({
                    role: "tools",
                    stages: [
                        { name: "dev", targetStack: "a/b/c" },
                        { name: "drift", targetStack: "a/b/d" },
                    ],
                }),
            ).to.deep.equal([`stages[1].name ${reserved}`]);
            // a stage merely starting with it is a different role name
            expect((read({ ...target, stage: "drift-eu" }) as TargetConfig).stage).to.equal("drift-eu");
        });

        it("refuses two stages in one account whose names prefix each other (stageCollisionProblems)", () => {
            const dev = { stage: "prod", accountId: "222222222222" };
            const eu = { stage: "prod-eu", accountId: "222222222222" };
            expect(stageCollisionProblems([dev, eu])).to.deep.equal([
                'stages "prod" and "prod-eu" are both in account 222222222222, and "prod-" begins "prod-eu": ' +
                    'the roles of prod are scoped to names "<service>-prod-*", which include prod-eu\'s. ' +
                    'Rename one of them (e.g. "prod-main") or give it its own account',
            ]);
            // the order of the stages does not matter
            expect(stageCollisionProblems([eu, dev])).to.have.length(1);
            // in different accounts, or not a prefix followed by "-", they cannot reach each other's resources
            expect(stageCollisionProblems([dev, { ...eu, accountId: "333333333333" }])).to.deep.equal([]);
            expect(stageCollisionProblems([dev, { stage: "production", accountId: "222222222222" }])).to.deep.equal([]);
            expect(stageCollisionProblems([dev, { stage: "dev", accountId: "222222222222" }])).to.deep.equal([]);
            // one problem per colliding pair
            expect(stageCollisionProblems([dev, eu, { stage: "prod-us", accountId: "222222222222" }])).to.have.length(2);
        });
    });

    describe("identifiers", () => {
        it("says how to quote an account ID that YAML read as a number and so lost its leading zero", () => {
            const [problem] = problemsOf({ ...target, toolsAccountId: "12345678901" });
            expect(problem).to.equal(
                'toolsAccountId must be a 12-digit AWS account ID such as 111111111111; got "12345678901" ' +
                    '(an account ID that starts with 0 must be quoted in YAML, e.g. "012345678901": ' +
                    "unquoted, YAML reads it as a number and drops the leading zeros)",
            );
            expect(accountIdProblem("toolsAccountId", "1234")).to.contain('e.g. "000000001234"');
            // not a number at all: no hint about zeros
            expect(accountIdProblem("toolsAccountId", "11111111111a")).to.not.contain("quoted");
            expect(accountIdProblem("toolsAccountId", "012345678901")).to.equal(undefined);
        });

        it("refuses an ARN with a newline or any character outside its shape (it reaches files and shells)", () => {
            const good = "arn:aws:iam::222222222222:role/deploy-product-catalog-service-dev";
            expect(roleArnProblem("deployRoleArn", good)).to.equal(undefined);
            for (const bad of [
                `${good}\n[profile other]`,
                `${good}\nrole_arn = arn:aws:iam::999999999999:role/admin`,
                `${good} `,
                `${good}\r`,
                `${good};id`,
                "arn:aws:iam::22222222222:role/deploy",
                "arn:aws:s3:::bucket",
            ]) {
                expect(roleArnProblem("deployRoleArn", bad), JSON.stringify(bad)).to.equal(
                    "deployRoleArn must be an IAM role ARN such as arn:aws:iam::222222222222:role/deploy-example; got " +
                        JSON.stringify(bad),
                );
            }
            // pinned to an account when asked
            expect(roleArnProblem("deployRoleArn", good, "333333333333")).to.equal(
                `deployRoleArn is in account 222222222222, not 333333333333: ${JSON.stringify(good)}`,
            );
            // in config: an api stack's boundary ARN with a line break inside is refused (trimming does not save it)
            const boundary = "arn:aws:iam::222222222222:policy/boundary-product-catalog-service-dev";
            expect(policyArnProblem("permissionsBoundaryArn", boundary)).to.equal(undefined);
            expect(problemsOf({ role: "api", stage: "dev", permissionsBoundaryArn: `${boundary}\nx` })[0]).to.match(
                /^permissionsBoundaryArn must be an IAM policy ARN/,
            );
        });
    });
});
