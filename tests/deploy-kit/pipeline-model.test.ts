// components/pipeline-model.ts: the pipeline's stages and actions from the deploy targets, without Pulumi.
import { expect } from "chai";
import {
    approvalStageName,
    deployNamespace,
    deployOutputArtifact,
    pipelineModel,
    stageCollisionProblems,
    TEST_STAGE,
} from "../../components/pipeline-model";
import type { DeployTarget } from "../../components/target-contract";
import { DEV_TARGET, PROD_TARGET, serverlessOutputs } from "./fixtures";

/** "<stage>: <action>[/<runOrder>]" for every action, in order. */
const outline = (targets: DeployTarget[]) =>
    pipelineModel(targets).stages.flatMap((s) => s.actions.map((a) => `${s.name}: ${a.name}${"runOrder" in a ? `/${a.runOrder}` : ""}`));

describe("pipeline model", () => {
    it("orders Test, then per stage [approval] Deploy → SmokeTest, in promotion order", () => {
        expect(outline([DEV_TARGET, PROD_TARGET])).to.deep.equal([
            "Test: UnitTests",
            "dev: Deploy/1",
            "dev: SmokeTest/2",
            "Approve-prod: Approve",
            "prod: Deploy/1",
            "prod: SmokeTest/2",
        ]);
        // the order is the targets' order, not alphabetical
        expect(outline([PROD_TARGET, DEV_TARGET])[1]).to.equal("Approve-prod: Approve");
    });

    it("carries each stage's target, smoke-test mode, approval and rollback", () => {
        const model = pipelineModel([DEV_TARGET, PROD_TARGET]);
        expect(model.targetStages).to.deep.equal(["dev", "prod"]);
        const [test, dev, approve, prod] = model.stages;
        expect(test).to.deep.equal({
            name: TEST_STAGE,
            actions: [{ kind: "test", name: "UnitTests", packageStages: ["dev", "prod"] }],
            rollbackOnFailure: false,
        });
        expect(dev.rollbackOnFailure).to.equal(true);
        expect(dev.actions[0]).to.deep.include({ kind: "deploy", target: DEV_TARGET });
        expect(dev.actions[1]).to.deep.include({ kind: "smoke-test", stage: "dev", mode: "full" });
        // the approval is a stage of its own: rolling prod back never waits for a person
        expect(approve).to.deep.equal({
            name: "Approve-prod",
            actions: [{ kind: "approval", name: "Approve", stage: "prod", previousStage: "dev" }],
            rollbackOnFailure: false,
        });
        expect(prod.actions[1]).to.deep.include({ kind: "smoke-test", mode: "read-only" });
        const noRollback = pipelineModel([{ ...DEV_TARGET, approval: true, rollbackOnFailure: false }]).stages;
        expect(noRollback.map((s) => [s.name, s.rollbackOnFailure])).to.deep.equal([
            ["Test", false],
            ["Approve-dev", false],
            ["dev", false],
        ]);
        expect(noRollback[1].actions[0]).to.deep.include({ previousStage: undefined });
    });

    it("packages in the Test stage only the stages the serverless deployer deploys", () => {
        const { cfnExecutionRoleArn: _c, driftRoleArn: _d, ...common } = PROD_TARGET;
        const pulumiProd = {
            ...common,
            deployer: "pulumi",
            pulumiSecretsKeyArn: "arn:aws:kms:us-east-1:333333333333:key/k",
        } as DeployTarget;
        const [test] = pipelineModel([DEV_TARGET, pulumiProd]).stages;
        expect(test.actions[0]).to.deep.equal({ kind: "test", name: "UnitTests", packageStages: ["dev"] });
    });

    it("names each stage's namespace, output artifact and approval stage", () => {
        expect(deployNamespace("dev")).to.equal("Deploy-dev");
        expect(deployNamespace("prod-eu")).to.equal("Deploy-prod-eu");
        expect(deployOutputArtifact("prod-eu")).to.equal("deploy_prod_eu");
        expect(approvalStageName("prod")).to.equal("Approve-prod");
        // every stage name of a pipeline is distinct, so is every namespace
        const targets = ["dev", "staging", "prod", "prod-eu"].map((s, i): DeployTarget => ({
            ...serverlessOutputs(s, i < 2 ? "222222222222" : "333333333333"),
            approval: i > 1,
            smokeTest: "full",
            rollbackOnFailure: true,
        }));
        const names = pipelineModel(targets).stages.map((s) => s.name);
        expect(new Set(names).size).to.equal(names.length);
    });

    it("refuses no target, and a stage listed twice", () => {
        expect(() => pipelineModel([])).to.throw("a pipeline needs at least one deploy target");
        expect(() => pipelineModel([DEV_TARGET, PROD_TARGET, { ...DEV_TARGET }])).to.throw(
            "stage dev is listed twice: each target stage deploys once per execution",
        );
    });

    describe("stageCollisionProblems", () => {
        it("refuses two stages of one account whose names prefix each other (prod, prod-eu)", () => {
            const problems = stageCollisionProblems([
                { stage: "prod", accountId: "333333333333" },
                { stage: "prod-eu", accountId: "333333333333" },
                { stage: "dev", accountId: "222222222222" },
            ]);
            expect(problems).to.have.length(1);
            expect(problems[0]).to.include('stages "prod" and "prod-eu" are both in account 333333333333');
            expect(problems[0]).to.include('"<service>-prod-*"');
            expect(problems[0]).to.include('Rename one of them (e.g. "prod-main")');
        });

        it("accepts them in different accounts, and names that only share letters (prod, production)", () => {
            expect(
                stageCollisionProblems([
                    { stage: "prod", accountId: "333333333333" },
                    { stage: "prod-eu", accountId: "222222222222" },
                    { stage: "production", accountId: "333333333333" },
                ]),
            ).to.deep.equal([]);
        });
    });
});
