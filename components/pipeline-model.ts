// What the pipeline is, apart from how CodePipeline spells it (components/deployment-pipeline.ts renders it): from
// the deploy targets in promotion order, the stages after Source and the actions in each. Pure: tested without mocks.
//
//   Test:            UnitTests (npm test, the bundles, a package per stage)
//   Approve-<stage>: Approve                                      (only when the stage asks for approval)
//   <stage>:         Deploy (its own project and build role) → SmokeTest; rolled back when it fails (if asked)
//
// The approval is a stage of its own so that rolling a stage back never waits for a person.
import { SmokeTestMode } from "./domain";
import { DeployTarget } from "./target-contract";

export const TEST_STAGE = "Test";

/** The pipeline stage holding a target stage's manual approval. */
export const approvalStageName = (stage: string) => `Approve-${stage}`;

/** Pipeline variable namespace of a stage's Deploy action; later actions read `#{<namespace>.API_URL}`. */
export const deployNamespace = (stage: string) => `Deploy-${stage}`;

/** The output artifact of a stage's Deploy action (deploy-output.json). */
export const deployOutputArtifact = (stage: string) => `deploy_${stage.replace(/-/g, "_")}`;

export type ModelAction =
    | { readonly kind: "test"; readonly name: "UnitTests"; readonly packageStages: readonly string[] }
    | { readonly kind: "approval"; readonly name: "Approve"; readonly stage: string; readonly previousStage?: string }
    | { readonly kind: "deploy"; readonly name: "Deploy"; readonly runOrder: 1; readonly target: DeployTarget }
    | {
          readonly kind: "smoke-test";
          readonly name: "SmokeTest";
          readonly runOrder: 2;
          readonly stage: string;
          readonly mode: SmokeTestMode;
      };

export interface ModelStage {
    readonly name: string;
    readonly actions: readonly ModelAction[];
    /** CodePipeline V2 stage rollback to the stage's last successful execution when an action fails. */
    readonly rollbackOnFailure: boolean;
}

export interface PipelineModel {
    /** The stages after Source, in order. */
    readonly stages: readonly ModelStage[];
    /** The target stages, in promotion order. */
    readonly targetStages: readonly string[];
}

/**
 * Stages in one account whose names prefix each other (`prod` and `prod-eu`): the target roles are scoped by name
 * patterns such as `<service>-prod-*`, which also match `<service>-prod-eu-*`, so one stage's execution role could
 * change the other's functions. Refused; each such pair is one problem.
 */
export function stageCollisionProblems(targets: readonly Pick<DeployTarget, "stage" | "accountId">[]): string[] {
    const problems: string[] = [];
    for (const a of targets) {
        for (const b of targets) {
            if (a !== b && a.accountId === b.accountId && b.stage.startsWith(`${a.stage}-`)) {
                problems.push(
                    `stages "${a.stage}" and "${b.stage}" are both in account ${a.accountId}, and "${a.stage}-" begins "${b.stage}": ` +
                        `the roles of ${a.stage} are scoped to names "<service>-${a.stage}-*", which include ${b.stage}'s. ` +
                        `Rename one of them (e.g. "${a.stage}-main") or give it its own account`,
                );
            }
        }
    }
    return problems;
}

/** The pipeline for these targets, in promotion order (at least one). */
export function pipelineModel(targets: readonly DeployTarget[]): PipelineModel {
    if (targets.length === 0) throw new Error("a pipeline needs at least one deploy target");
    const stages = targets.map((t) => t.stage);
    const duplicate = stages.find((s, i) => stages.indexOf(s) !== i);
    if (duplicate) throw new Error(`stage ${duplicate} is listed twice: each target stage deploys once per execution`);
    // The serverless deployer deploys what the Test stage packaged for each stage; the pulumi deployer packages nothing.
    const packageStages = [...new Set(targets.filter((t) => t.deployer === "serverless").map((t) => t.stage))];
    const test: ModelStage = {
        name: TEST_STAGE,
        actions: [{ kind: "test", name: "UnitTests", packageStages }],
        rollbackOnFailure: false,
    };
    const perTarget = targets.flatMap((target, i): ModelStage[] => {
        const approval: ModelStage = {
            name: approvalStageName(target.stage),
            actions: [{ kind: "approval", name: "Approve", stage: target.stage, previousStage: i > 0 ? targets[i - 1].stage : undefined }],
            rollbackOnFailure: false,
        };
        const deploy: ModelStage = {
            name: target.stage,
            actions: [
                { kind: "deploy", name: "Deploy", runOrder: 1, target },
                { kind: "smoke-test", name: "SmokeTest", runOrder: 2, stage: target.stage, mode: target.smokeTest },
            ],
            rollbackOnFailure: target.rollbackOnFailure,
        };
        return target.approval ? [approval, deploy] : [deploy];
    });
    return { stages: [test, ...perTarget], targetStages: stages };
}
