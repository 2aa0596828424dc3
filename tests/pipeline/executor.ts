/**
 * A CodePipeline V2 pipeline executed on this machine (stand-in: moto stores pipelines and runs none of them;
 * moto/codepipeline/models.py has create/get/update/list/delete_pipeline and tags, no StartPipelineExecution).
 * It takes the pipeline's and projects' Pulumi inputs as they are and runs
 * executions one at a time, keeping their history (for rollbacks). The rules it follows, each with the AWS page it
 * comes from, and what it does not model, are in ./SEMANTICS.md.
 */
import { randomUUID } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactRef, CodeBuildActionResult, runCodeBuildAction } from "./codebuild";
import { seedNpmCache } from "./codebuild-environment";
import { ActionInputs, CredentialsFor, NotificationRuleInputs, PipelineInputs, ProjectInputs, StageInputs } from "./pulumi-shapes";
import { SourceRevision } from "./source";
import { resolveConfiguration, variableCheck, VariableCheckOutcome, variableReferences, Variables } from "./variables";

export interface ApprovalRequest {
    readonly pipelineName: string;
    readonly stageName: string;
    readonly actionName: string;
    readonly executionId: string;
    readonly token: string;
    /** the action's configuration, variables resolved */
    readonly customData?: string;
    readonly externalEntityLink?: string;
    readonly notificationArn?: string;
}

/** As PutApprovalResult takes it. */
export interface ApprovalAnswer {
    readonly status: "Approved" | "Rejected";
    readonly summary?: string;
}

export type Approver = (request: ApprovalRequest) => ApprovalAnswer | Promise<ApprovalAnswer>;

export interface NotificationEvent {
    /** e.g. codepipeline-pipeline-pipeline-execution-failed */
    readonly eventTypeId: string;
    readonly pipelineName: string;
    readonly executionId: string;
    readonly executionType: "STANDARD" | "ROLLBACK";
    readonly stageName?: string;
    readonly actionName?: string;
    readonly detail: Record<string, unknown>;
    /** the notification rule's target addresses (SNS topic ARNs) */
    readonly targets: string[];
}

export interface ActionExecution {
    readonly stageName: string;
    readonly actionName: string;
    readonly category: string;
    readonly provider: string;
    readonly runOrder: number;
    readonly status: "Succeeded" | "Failed";
    readonly message?: string;
    readonly startedAt: Date;
    readonly finishedAt: Date;
    readonly durationMs: number;
    /** configuration with its variables resolved (absent when they could not be) */
    readonly configuration?: Record<string, string>;
    readonly outputVariables: Record<string, string>;
    readonly build?: CodeBuildActionResult;
    readonly approval?: { readonly request: ApprovalRequest; readonly answer?: ApprovalAnswer };
}

export interface StageExecution {
    readonly name: string;
    readonly status: "Succeeded" | "Failed" | "Skipped";
    readonly message?: string;
    readonly actions: ActionExecution[];
    readonly entryCondition?: { readonly result: string; readonly met: boolean; readonly rules: VariableCheckOutcome[] };
}

export interface PipelineExecution {
    readonly executionId: string;
    readonly type: "STANDARD" | "ROLLBACK";
    status: "InProgress" | "Succeeded" | "Failed";
    /** for a rollback: the execution whose artifacts and variables it ran with */
    readonly rollbackTargetExecutionId?: string;
    readonly stages: StageExecution[];
    /** namespace → variables, as they stand at the end */
    readonly variables: Variables;
    /** output artifacts by name */
    readonly artifacts: Record<string, ArtifactRef>;
    /** the rollback this execution's failure started (onFailure: ROLLBACK), if any */
    rollback?: PipelineExecution;
    readonly startedAt: Date;
    finishedAt?: Date;
}

export interface RehearsalOptions {
    readonly pipeline: PipelineInputs;
    readonly projects: readonly ProjectInputs[];
    readonly notificationRule?: NotificationRuleInputs;
    readonly region: string;
    readonly accountId: string;
    /** moto's URL: every build's AWS endpoint */
    readonly awsEndpoint: string;
    /** sessions of the projects' service roles, as CodeBuild gets them */
    readonly credentialsFor: CredentialsFor;
    /** answers manual approvals (a start() may give its own) */
    readonly approve?: Approver;
    /** actions of one runOrder running at once (default 2) */
    readonly parallelActions?: number;
    /** default: a new temporary directory, removed by dispose() */
    readonly workDir?: string;
    /** an npm cache (e.g. ~/.npm) seeding each cached project's npm cache once */
    readonly npmCacheSeed?: string;
    /** keep each build's workspace (default: removed once its artifacts are copied out) */
    readonly keepWorkspaces?: boolean;
    /**
     * Directories linked beside every build's source directory (codebuild-environment.ts, besideSource): not
     * CodeBuild's; stands for what an offline build machine keeps beside its checkout (../shared/vendor/moto).
     */
    readonly besideSource?: Readonly<Record<string, string>>;
    /**
     * What later actions see of an action's output variables, e.g. a Deploy action's API_URL mapped to the API
     * Gateway stand-in (ApiGatewayStandIn.localUrl). The action's own record keeps what it exported.
     */
    readonly mapOutputVariables?: (
        action: { stageName: string; actionName: string; namespace: string },
        variables: Record<string, string>,
    ) => Record<string, string>;
}

export interface StartOptions {
    /** the revision each Source action delivers, by action name */
    readonly sources: Record<string, SourceRevision>;
    /** values of the pipeline-level variables (#{variables.NAME}) */
    readonly variables?: Record<string, string>;
    readonly approve?: Approver;
}

type Action = ActionInputs & { readonly stageName: string };

const kind = (a: ActionInputs) => `${a.category}/${a.owner}/${a.provider}/${a.version}`;
const SUPPORTED: Record<string, (a: ActionInputs) => boolean> = {
    source: (a) => a.category === "Source",
    codebuild: (a) =>
        (a.category === "Build" || a.category === "Test") && a.owner === "AWS" && a.provider === "CodeBuild" && a.version === "1",
    approval: (a) => a.category === "Approval" && a.owner === "AWS" && a.provider === "Manual" && a.version === "1",
};
const RESERVED_NAMESPACES = ["codepipeline", "variables"];

export class PipelineRehearsal {
    readonly history: PipelineExecution[] = [];
    readonly notifications: NotificationEvent[] = [];
    readonly workDir: string;
    private readonly pipelineName: string;
    private readonly stages: StageInputs[];
    private readonly projects = new Map<string, ProjectInputs>();
    private readonly buildNumbers = new Map<string, number>();
    private queue: Promise<unknown> = Promise.resolve();

    constructor(private readonly options: RehearsalOptions) {
        const { pipeline } = options;
        this.pipelineName = pipeline.name ?? "pipeline";
        if (pipeline.pipelineType !== "V2")
            throw new Error(`pipeline ${this.pipelineName}: pipelineType ${pipeline.pipelineType} — the rehearsal models V2`);
        this.stages = pipeline.stages;
        for (const project of options.projects) this.projects.set(project.name ?? "", project);
        this.validate();
        this.workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "pipeline-rehearsal-"));
    }

    /** Everything CodePipeline would refuse at CreatePipeline, or this rehearsal cannot run, before anything runs. */
    private validate(): void {
        const problems: string[] = [];
        const namespaces = new Set<string>();
        const produced = new Set<string>();
        const pipelineVariables = new Set((this.options.pipeline.variables ?? []).map((v) => v.name));
        const checkReferences = (where: string, configuration: Record<string, string> | undefined) => {
            for (const value of Object.values(configuration ?? {})) {
                for (const { namespace, key } of variableReferences(value)) {
                    if (namespace === "variables" && !pipelineVariables.has(key))
                        problems.push(`${where}: #{variables.${key}} is not a pipeline variable`);
                    else if (!RESERVED_NAMESPACES.includes(namespace) && !namespaces.has(namespace)) {
                        problems.push(`${where}: #{${namespace}.${key}} names no namespace of an earlier action`);
                    }
                }
            }
        };
        this.stages.forEach((stage, index) => {
            const where = `stage ${stage.name}`;
            if (stage.onSuccess) problems.push(`${where}: onSuccess conditions are not modelled`);
            if (stage.onFailure && (stage.onFailure.condition || stage.onFailure.retryConfiguration)) {
                problems.push(`${where}: onFailure conditions and retries are not modelled (result ROLLBACK or FAIL only)`);
            }
            if (stage.onFailure?.result && !["ROLLBACK", "FAIL"].includes(stage.onFailure.result)) {
                problems.push(`${where}: onFailure result ${stage.onFailure.result} is not modelled (ROLLBACK or FAIL)`);
            }
            if (stage.onFailure?.result === "ROLLBACK" && index === 0) problems.push(`${where}: a source stage cannot be rolled back`);
            const condition = stage.beforeEntry?.condition;
            if (condition) {
                if (!["FAIL", "SKIP"].includes(condition.result ?? "FAIL"))
                    problems.push(`${where}: beforeEntry result ${condition.result} (FAIL or SKIP)`);
                for (const rule of condition.rules) {
                    if (rule.ruleTypeId.provider !== "VariableCheck")
                        problems.push(
                            `${where}: rule ${rule.name} of type ${rule.ruleTypeId.provider} is not modelled (VariableCheck only)`,
                        );
                    checkReferences(`${where} rule ${rule.name}`, rule.configuration);
                }
            }
            const byOrder = new Map<number, ActionInputs[]>();
            for (const action of stage.actions) byOrder.set(action.runOrder ?? 1, [...(byOrder.get(action.runOrder ?? 1) ?? []), action]);
            for (const order of [...byOrder.keys()].sort((a, b) => a - b)) {
                const group = byOrder.get(order)!;
                for (const action of group) {
                    const at = `${where} action ${action.name}`;
                    const type = Object.keys(SUPPORTED).find((k) => SUPPORTED[k](action));
                    if (!type) problems.push(`${at}: ${kind(action)} actions are not modelled (Source, CodeBuild, Manual approval)`);
                    if ((type === "source") !== (index === 0)) problems.push(`${at}: Source actions, and only they, make the first stage`);
                    if (action.region && action.region !== this.options.region)
                        problems.push(`${at}: cross-region actions are not modelled`);
                    checkReferences(at, action.configuration);
                    for (const input of action.inputArtifacts ?? []) {
                        if (!produced.has(input)) problems.push(`${at}: input artifact ${input} is not produced by an earlier action`);
                    }
                    const project = action.configuration?.ProjectName;
                    if (type === "codebuild" && (!project || !this.projects.has(project)))
                        problems.push(`${at}: no CodeBuild project named ${project}`);
                }
                for (const action of group) {
                    for (const output of action.outputArtifacts ?? []) {
                        if (produced.has(output))
                            problems.push(`${where} action ${action.name}: output artifact ${output} is produced twice`);
                        produced.add(output);
                    }
                    if (action.namespace) {
                        if (namespaces.has(action.namespace) || RESERVED_NAMESPACES.includes(action.namespace)) {
                            problems.push(`${where} action ${action.name}: namespace ${action.namespace} is not unique`);
                        }
                        namespaces.add(action.namespace);
                    }
                }
            }
        });
        for (const ns of namespaces) if (produced.has(ns)) problems.push(`namespace ${ns} is also an artifact name`);
        if (problems.length > 0) throw new Error(`pipeline ${this.pipelineName} cannot be rehearsed:\n  ${problems.join("\n  ")}`);
    }

    /** Runs one execution (after any still running: executions never overlap here) and returns it. */
    start(options: StartOptions): Promise<PipelineExecution> {
        const run = this.queue.then(() => this.execute(options));
        this.queue = run.catch(() => undefined);
        return run;
    }

    async dispose(): Promise<void> {
        await this.queue;
        if (!this.options.workDir) rmSync(this.workDir, { recursive: true, force: true });
    }

    private newExecution(
        type: PipelineExecution["type"],
        variables: Variables,
        artifacts: Record<string, ArtifactRef>,
        target?: string,
    ): PipelineExecution {
        const executionId = randomUUID();
        return {
            executionId,
            type,
            status: "InProgress",
            rollbackTargetExecutionId: target,
            stages: [],
            variables: { ...variables, codepipeline: { PipelineExecutionId: executionId } },
            artifacts: { ...artifacts },
            startedAt: new Date(),
        };
    }

    private async execute(options: StartOptions): Promise<PipelineExecution> {
        const declared = this.options.pipeline.variables ?? [];
        const pipelineVariables: Record<string, string> = {};
        for (const v of declared) {
            const value = options.variables?.[v.name] ?? v.defaultValue;
            if (value === undefined) throw new Error(`pipeline variable ${v.name} has no default and no value was given`);
            pipelineVariables[v.name] = value;
        }
        for (const name of Object.keys(options.variables ?? {})) {
            if (!declared.some((v) => v.name === name)) throw new Error(`${name} is not a variable of pipeline ${this.pipelineName}`);
        }
        for (const action of this.stages[0].actions) {
            if (!options.sources[action.name]) throw new Error(`start() needs a source revision for Source action ${action.name}`);
        }
        const execution = this.newExecution("STANDARD", { variables: pipelineVariables }, {});
        this.notify("codepipeline-pipeline-pipeline-execution-started", execution);
        for (const stage of this.stages) {
            const record = await this.runStage(stage, execution, options);
            execution.stages.push(record);
            if (record.status !== "Failed") continue;
            execution.status = "Failed";
            if (stage.onFailure?.result === "ROLLBACK" && record.entryCondition?.met !== false) {
                const target = this.lastSuccess(stage.name);
                if (target) execution.rollback = await this.rollBack(stage, target, options);
            }
            break;
        }
        if (execution.status === "InProgress") execution.status = "Succeeded";
        execution.finishedAt = new Date();
        this.notify(`codepipeline-pipeline-pipeline-execution-${execution.status === "Succeeded" ? "succeeded" : "failed"}`, execution);
        this.history.push(execution);
        if (execution.rollback) this.history.push(execution.rollback);
        return execution;
    }

    /** The latest standard execution in which the stage succeeded: a rollback execution is never a target. */
    private lastSuccess(stageName: string): PipelineExecution | undefined {
        return [...this.history]
            .reverse()
            .find((e) => e.type === "STANDARD" && e.stages.some((s) => s.name === stageName && s.status === "Succeeded"));
    }

    private async rollBack(stage: StageInputs, target: PipelineExecution, options: StartOptions): Promise<PipelineExecution> {
        const rollback = this.newExecution("ROLLBACK", target.variables, target.artifacts, target.executionId);
        this.notify("codepipeline-pipeline-pipeline-execution-started", rollback);
        const record = await this.runStage(stage, rollback, options);
        rollback.stages.push(record);
        rollback.status = record.status === "Failed" ? "Failed" : "Succeeded";
        rollback.finishedAt = new Date();
        this.notify(`codepipeline-pipeline-pipeline-execution-${rollback.status === "Succeeded" ? "succeeded" : "failed"}`, rollback);
        return rollback;
    }

    private async runStage(stage: StageInputs, execution: PipelineExecution, options: StartOptions): Promise<StageExecution> {
        const condition = stage.beforeEntry?.condition;
        let entryCondition: StageExecution["entryCondition"];
        if (condition) {
            const rules = condition.rules.map((rule) => variableCheck(rule.name, rule.configuration ?? {}, execution.variables));
            const result = condition.result ?? "FAIL";
            entryCondition = { result, met: rules.every((r) => r.passed), rules };
            if (!entryCondition.met) {
                const message = `entry condition not met (${rules
                    .filter((r) => !r.passed)
                    .map((r) => r.detail)
                    .join("; ")})`;
                return { name: stage.name, status: result === "SKIP" ? "Skipped" : "Failed", message, actions: [], entryCondition };
            }
        }
        const actions: ActionExecution[] = [];
        const orders = [...new Set(stage.actions.map((a) => a.runOrder ?? 1))].sort((a, b) => a - b);
        for (const order of orders) {
            const group = stage.actions.filter((a) => (a.runOrder ?? 1) === order).map((a) => ({ ...a, stageName: stage.name }));
            const results = await pool(group, this.options.parallelActions ?? 2, (a) => this.runAction(a, execution, options));
            actions.push(...results);
            const failed = results.find((r) => r.status === "Failed");
            if (failed)
                return {
                    name: stage.name,
                    status: "Failed",
                    message: `action ${failed.actionName} failed: ${failed.message}`,
                    actions,
                    entryCondition,
                };
        }
        return { name: stage.name, status: "Succeeded", actions, entryCondition };
    }

    private async runAction(action: Action, execution: PipelineExecution, options: StartOptions): Promise<ActionExecution> {
        const startedAt = new Date();
        const base = {
            stageName: action.stageName,
            actionName: action.name,
            category: action.category,
            provider: action.provider,
            runOrder: action.runOrder ?? 1,
            startedAt,
        };
        const finish = (fields: Partial<ActionExecution> & Pick<ActionExecution, "status" | "outputVariables">): ActionExecution => {
            const finishedAt = new Date();
            const namespace = action.namespace;
            if (namespace && fields.status === "Succeeded") {
                const map = this.options.mapOutputVariables;
                const scope = { stageName: action.stageName, actionName: action.name, namespace };
                execution.variables[namespace] = map ? map(scope, { ...fields.outputVariables }) : fields.outputVariables;
            }
            return { ...base, ...fields, finishedAt, durationMs: finishedAt.getTime() - startedAt.getTime() };
        };
        let configuration: Record<string, string> | undefined;
        try {
            configuration = resolveConfiguration(action.configuration ?? {}, execution.variables, action.name);
            if (SUPPORTED.source(action))
                return finish({ status: "Succeeded", configuration, ...this.runSource(action, execution, options) });
            if (SUPPORTED.approval(action))
                return finish({ configuration, ...(await this.runApproval(action, configuration, execution, options)) });
            const build = await this.runBuild(action, configuration, execution);
            const failure = build.phases.find((p) => p.status === "FAILED");
            return finish({
                status: build.status === "SUCCEEDED" ? "Succeeded" : "Failed",
                message: failure ? `build ${build.buildId} failed in ${failure.name}: ${failure.message}` : undefined,
                configuration,
                outputVariables: build.exportedVariables,
                build,
            });
        } catch (error) {
            return finish({ status: "Failed", message: (error as Error).message, configuration, outputVariables: {} });
        }
    }

    private executionDir(execution: PipelineExecution, ...parts: string[]): string {
        return join(this.workDir, "executions", execution.executionId, ...parts);
    }

    private runSource(action: Action, execution: PipelineExecution, options: StartOptions): Pick<ActionExecution, "outputVariables"> {
        const revision = options.sources[action.name];
        for (const name of action.outputArtifacts ?? []) {
            const dir = this.executionDir(execution, "artifacts", name);
            cpSync(revision.directory, dir, { recursive: true });
            execution.artifacts[name] = { name, dir, revision: revision.revision ?? revision.variables.CommitId };
        }
        return { outputVariables: { ...revision.variables } };
    }

    private async runApproval(
        action: Action,
        configuration: Record<string, string>,
        execution: PipelineExecution,
        options: StartOptions,
    ): Promise<Pick<ActionExecution, "status" | "message" | "outputVariables" | "approval">> {
        const request: ApprovalRequest = {
            pipelineName: this.pipelineName,
            stageName: action.stageName,
            actionName: action.name,
            executionId: execution.executionId,
            token: randomUUID(),
            customData: configuration.CustomData,
            externalEntityLink: configuration.ExternalEntityLink,
            notificationArn: configuration.NotificationArn,
        };
        const approver = options.approve ?? this.options.approve;
        const scope = { stageName: action.stageName, actionName: action.name };
        this.notify("codepipeline-pipeline-manual-approval-needed", execution, { ...scope, detail: { ...request } });
        if (!approver) {
            return {
                status: "Failed",
                message: "the approval waits for a person: give the rehearsal or start() an approve callback",
                outputVariables: {},
                approval: { request },
            };
        }
        const answer = await approver(request);
        const approved = answer.status === "Approved";
        this.notify(`codepipeline-pipeline-manual-approval-${approved ? "succeeded" : "failed"}`, execution, {
            ...scope,
            detail: { ...answer },
        });
        return {
            status: approved ? "Succeeded" : "Failed",
            message: approved ? undefined : `rejected${answer.summary ? `: ${answer.summary}` : ""}`,
            outputVariables: {},
            approval: { request, answer },
        };
    }

    private async runBuild(
        action: Action,
        configuration: Record<string, string>,
        execution: PipelineExecution,
    ): Promise<CodeBuildActionResult> {
        const project = this.projects.get(configuration.ProjectName);
        if (!project) throw new Error(`no CodeBuild project named ${configuration.ProjectName}`);
        const inputs = (action.inputArtifacts ?? []).map((name) => {
            const artifact = execution.artifacts[name];
            if (!artifact) throw new Error(`input artifact ${name} was not produced in this execution`);
            return artifact;
        });
        const outputs = (action.outputArtifacts ?? []).map((name) => ({ name, dir: this.executionDir(execution, "artifacts", name) }));
        const buildNumber = (this.buildNumbers.get(configuration.ProjectName) ?? 0) + 1;
        this.buildNumbers.set(configuration.ProjectName, buildNumber);
        const build = await runCodeBuildAction({
            project,
            actionName: action.name,
            configuration,
            inputs,
            outputs,
            workDir: join(this.workDir, "builds"),
            buildNumber,
            region: this.options.region,
            accountId: this.options.accountId,
            awsEndpoint: this.options.awsEndpoint,
            initiator: `codepipeline/${this.pipelineName}`,
            credentialsFor: this.options.credentialsFor,
            cacheDir: this.cacheDir(configuration.ProjectName),
            keepWorkspace: this.options.keepWorkspaces,
            besideSource: this.options.besideSource,
        });
        if (build.status === "SUCCEEDED") for (const { name, dir } of outputs) execution.artifacts[name] = { name, dir };
        return build;
    }

    /** A project's cache, kept for the whole rehearsal; seeded from an npm cache when it is first made. */
    private cacheDir(projectName: string): string {
        const dir = join(this.workDir, "cache", projectName);
        if (!existsSync(dir)) {
            mkdirSync(dir, { recursive: true });
            if (this.options.npmCacheSeed) seedNpmCache(this.options.npmCacheSeed, join(dir, "root", ".npm"));
        }
        return dir;
    }

    private notify(
        eventTypeId: string,
        execution: PipelineExecution,
        extra: { stageName?: string; actionName?: string; detail?: Record<string, unknown> } = {},
    ): void {
        const rule = this.options.notificationRule;
        if (rule && !rule.eventTypeIds.includes(eventTypeId)) return;
        const failure = execution.stages.find((s) => s.status === "Failed");
        this.notifications.push({
            eventTypeId,
            pipelineName: this.pipelineName,
            executionId: execution.executionId,
            executionType: execution.type,
            stageName: extra.stageName,
            actionName: extra.actionName,
            detail: extra.detail ?? (failure ? { failedStage: failure.name, message: failure.message } : {}),
            targets: (rule?.targets ?? []).map((t) => t.address),
        });
    }
}

/** Runs `work` on every item, at most `limit` at once, keeping the items' order in the results. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            results[i] = await work(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}
