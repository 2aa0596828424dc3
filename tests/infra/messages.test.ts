// The mistakes a new user makes with the stack files, and the messages they get: a misspelt key, a target stack
// that cannot be read (misnamed, another organization or backend, not deployed yet), and the hint under a config
// error. Through index.ts under Pulumi's mocks, whose stack references fail as the engine does for a stack its
// backend does not hold (`unknown stack "<name>"`).
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { ConfigError, projectConfigKeys, readStackConfig, unknownKeyProblems } from "../../config";
import { runStack, TOOLS_ACCOUNT } from "../helpers/pulumi-mocks";
import { shippedStacks } from "../helpers/shipped-stacks";
import { loadStackFile } from "../helpers/stack-files";

const TARGET_CONFIG = { role: "target", stage: "dev", toolsAccountId: "111111111111" };
const source = (values: Record<string, string>) => (key: string) => values[key];

describe("messages for the mistakes users make", () => {
    describe("a key this project does not know", () => {
        it("is refused, naming the key and the closest known one", () => {
            expect(unknownKeyProblems(["notificationEmail", "toolAccountId", "stage"], projectConfigKeys())).to.deep.equal([
                `notificationEmail is not a configuration key of this project (did you mean notificationEmails?): remove it with \`pulumi config rm notificationEmail\`; the keys are ${projectConfigKeys().join(", ")}`,
                `toolAccountId is not a configuration key of this project (did you mean toolsAccountId?): remove it with \`pulumi config rm toolAccountId\`; the keys are ${projectConfigKeys().join(", ")}`,
            ]);
        });

        it("suggests nothing when no key is close", () => {
            const [problem] = unknownKeyProblems(["colour"], projectConfigKeys());
            expect(problem).to.match(/^colour is not a configuration key of this project: remove it/);
        });

        it("knows every key Pulumi.yaml declares, and stages", () => {
            const keys = projectConfigKeys();
            expect(keys).to.include.members([
                "role",
                "stage",
                "toolsAccountId",
                "buildRoleName",
                "notificationEmails",
                "stages",
                "logRetentionDays",
            ]);
            expect(
                keys.every((k) => !k.includes(":")),
                "no provider key",
            ).to.equal(true);
        });

        it("fails the stack with every problem at once, through index.ts", async () => {
            let error: unknown;
            try {
                await runStack({
                    stack: "target",
                    accountId: "222222222222",
                    config: { ...TARGET_CONFIG, toolAccountId: "111111111111", stage: "DEV" },
                });
            } catch (e) {
                error = e;
            }
            expect(error).to.be.instanceOf(ConfigError);
            // the type the engine prints as a message alone, without a stack trace of this program
            expect(pulumi.RunError.isInstance(error)).to.equal(true);
            const message = (error as Error).message;
            expect(message).to.include("toolAccountId is not a configuration key of this project (did you mean toolsAccountId?)");
            expect(message).to.include("stage must");
        });
    });

    describe("the hint under a config error", () => {
        const problemsOf = (values: Record<string, string>, setKeys?: string[]) => {
            try {
                readStackConfig(source(values), setKeys);
            } catch (e) {
                return (e as Error).message;
            }
            throw new Error("expected a ConfigError");
        };

        it("points at pulumi config set for a value of this stack", () => {
            const message = problemsOf({ role: "target", stage: "dev", toolsAccountId: "1234" });
            expect(message).to.match(
                /To fix: set a value with `pulumi config set <key> <value>` in this stack; Pulumi.yaml describes every key\.$/,
            );
        });

        it("points at the stages list for a problem in stages, and not at config set", () => {
            const message = problemsOf({ role: "tools", stages: JSON.stringify([{ name: "Dev", targetStack: "acme/p/target" }]) });
            expect(message).to.include("`stages` is a list: edit it in Pulumi.<stack>.yaml");
            expect(message).to.not.include("pulumi config set <key> <value>");
        });

        it("does not tell a user to set a key that should be removed", () => {
            const message = problemsOf(TARGET_CONFIG, ["role", "stage", "toolsAccountId", "notificationEmail"]);
            expect(message).to.include("pulumi config rm notificationEmail");
            expect(message).to.not.include("pulumi config set <key> <value>");
        });

        it("hints to quote an account ID that lost its leading zero", () => {
            const message = problemsOf({ role: "target", stage: "dev", toolsAccountId: "12345678901" });
            expect(message).to.match(/toolsAccountId.*quote/i);
        });
    });

    describe("a target stack the tools stack cannot read", () => {
        async function toolsWith(stages: object[]): Promise<string> {
            return (await toolsError(stages)).message;
        }
        async function toolsError(stages: object[]): Promise<Error> {
            const { targets } = await shippedStacks();
            const stackOutputs = Object.fromEntries(Object.entries(targets).map(([name, run]) => [name, run.outputs]));
            const config = { ...loadStackFile("Pulumi.tools.yaml"), "serverless-cross-account-cicd:stages": stages };
            try {
                await runStack({ stack: "tools", accountId: TOOLS_ACCOUNT, config, stackOutputs });
            } catch (e) {
                return e as Error;
            }
            throw new Error("expected the tools stack to fail");
        }

        it("names stages[i].targetStack, the name format for both backends, and how to check", async () => {
            const message = await toolsWith([{ name: "dev", targetStack: "acme/serverless-cross-account-cicd/targett" }]);
            expect(message, message).to.include(
                'stages[0].targetStack "acme/serverless-cross-account-cicd/targett" (stage "dev") could not be read: ',
            );
            expect(message).to.include('unknown stack "acme/serverless-cross-account-cicd/targett"');
            expect(message).to.include("<organization>/<project>/<stack>");
            expect(message).to.include("literally `organization`");
            expect(message).to.include("pulumi stack ls --all");
            expect(message).to.include("pulumi up");
        });

        it("fails as a RunError, which the engine prints without a stack trace", async () => {
            const error = await toolsError([{ name: "dev", targetStack: "acme/serverless-cross-account-cicd/missing" }]);
            expect(pulumi.RunError.isInstance(error), String(error)).to.equal(true);
        });

        it("in another organization: the same, for that stage's index", async () => {
            const message = await toolsWith([
                { name: "dev", targetStack: "acme/serverless-cross-account-cicd/target" },
                { name: "prod", targetStack: "organization/serverless-cross-account-cicd/target-prod", approval: true },
            ]);
            expect(message).to.include(
                'stages[1].targetStack "organization/serverless-cross-account-cicd/target-prod" (stage "prod") could not be read',
            );
        });
    });
});

describe("the README's two-account walk-through, from the shipped files", () => {
    it("evaluates the tools stack as shipped against the one target: Source, Test, dev, and nothing for prod", async () => {
        const { twoAccounts } = await shippedStacks();
        const pipeline = twoAccounts.cloud.resources.find((r) => r.type === "aws:codepipeline/pipeline:Pipeline")!;
        expect(pipeline.inputs.stages.map((s: { name: string }) => s.name)).to.deep.equal(["Source", "Test", "dev"]);
        const deployProjects = twoAccounts.cloud.resources
            .filter((r) => r.type === "aws:codebuild/project:Project")
            .map((r) => r.inputs.name)
            .filter((n: string) => n.includes("-deploy-"));
        expect(deployProjects).to.deep.equal(["product-catalog-service-deploy-dev"]);
        expect(twoAccounts.outputs.pipelineName).to.be.a("string");
    });
});
