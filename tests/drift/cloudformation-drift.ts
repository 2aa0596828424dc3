/**
 * CloudFormation drift detection, stood in for in front of moto (tests/helpers/moto-front.ts).
 *
 * Why this stand-in exists: moto has no drift detection (moto/cloudformation has no DetectStackDrift,
 * DescribeStackDriftDetectionStatus or DescribeStackResourceDrifts: it raises NotImplementedError). So the result of
 * these three calls is answered here, as CloudFormation answers them, from a scenario the test sets per stack: in
 * sync, drifted (these resources, these property differences), or detection failed.
 *
 * What stays moto's: authentication and authorisation of the drift calls too. Each one is forwarded to moto first;
 * moto checks the signature and the caller's IAM policy (against the stack's ARN, tests/helpers/moto_server.py
 * section 1) before it finds it has no such action, so a refusal is moto's own AccessDenied, passed on unchanged,
 * and only a call moto authorised gets the scenario's answer. Everything else the drift check does goes to moto as
 * is: assuming each drift role through STS (identity policy and trust policy), and publishing to SNS.
 *
 * The front also notes every role session STS issues through it (the AssumeRole answers), so a test can say which
 * role signed each drift call and check that no session's secret reached the build log.
 */
import { randomUUID } from "node:crypto";
import { FrontAnswer, FrontRequest, MotoFront, startMotoFront, xmlAnswer } from "../helpers/moto-front";

export interface PropertyDifference {
    readonly PropertyPath: string;
    readonly ExpectedValue: string;
    readonly ActualValue: string;
    readonly DifferenceType: "NOT_EQUAL" | "ADD" | "REMOVE";
}

export interface ResourceDrift {
    readonly LogicalResourceId: string;
    readonly PhysicalResourceId: string;
    readonly ResourceType: string;
    readonly StackResourceDriftStatus: "MODIFIED" | "DELETED";
    readonly PropertyDifferences?: readonly PropertyDifference[];
}

export type DriftScenario = { readonly drifts: readonly ResourceDrift[] } | { readonly detectionFailed: string };

/** A role session STS issued through the front. */
export interface IssuedRoleSession {
    readonly roleArn: string;
    readonly sessionName: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
}

export interface DriftCall {
    readonly action: string;
    readonly stack: string;
    readonly accessKeyId?: string;
    /** The role whose session signed the call (undefined: not a session issued through the front). */
    readonly roleArn?: string;
    /** moto refused it (its AccessDenied was passed on). */
    readonly denied: boolean;
}

export interface DriftFront extends MotoFront {
    /** Drift calls, in order, with who signed each. */
    readonly calls: DriftCall[];
    readonly sessions: IssuedRoleSession[];
}

const DRIFT_ACTIONS = ["DetectStackDrift", "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"];
const NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const ok = (action: string, inner: string) =>
    xmlAnswer(
        200,
        `<${action}Response xmlns="${NS}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
    );
const error = (code: string, message: string) =>
    xmlAnswer(
        400,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/**
 * `scenarios` maps "<account>/<region>/<stack>" to what drift detection finds there; a stack without a scenario
 * does not exist, as CloudFormation says. A call's account is that of the role whose session signed it.
 */
export async function startDriftFront(args: { moto: string; scenarios: Map<string, DriftScenario> }): Promise<DriftFront> {
    const detections = new Map<string, { key: string; stack: string; started: number }>();
    const calls: DriftCall[] = [];
    const sessions: IssuedRoleSession[] = [];
    const roleOf = (accessKeyId?: string) => sessions.find((s) => s.accessKeyId === accessKeyId)?.roleArn;

    /** CloudFormation's answer to a drift call moto authorised. */
    const answer = (req: FrontRequest, action: string): FrontAnswer => {
        const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1] ?? "";
        const account = roleOf(req.accessKeyId)?.split(":")[4] ?? "unknown";
        const at = (stack: string) => `${account}/${region}/${stack}`;
        const stackArn = (stack: string) =>
            `arn:aws:cloudformation:${region}:${account}:stack/${stack}/00000000-0000-0000-0000-000000000000`;

        if (action === "DetectStackDrift") {
            const stack = req.form.get("StackName") ?? "";
            if (!args.scenarios.has(at(stack))) return error("ValidationError", `Stack with id ${stack} does not exist`);
            const id = randomUUID();
            detections.set(id, { key: at(stack), stack, started: Date.now() });
            return ok(action, `<StackDriftDetectionId>${id}</StackDriftDetectionId>`);
        }
        if (action === "DescribeStackDriftDetectionStatus") {
            const id = req.form.get("StackDriftDetectionId") ?? "";
            const detection = detections.get(id);
            if (!detection) return error("ValidationError", `Stack drift detection ${id} does not exist`);
            const scenario = args.scenarios.get(detection.key)!;
            // As CloudFormation: in progress at first (the check must poll), then the result.
            const done = Date.now() - detection.started > 300;
            const common = `<StackId>${stackArn(detection.stack)}</StackId><StackDriftDetectionId>${id}</StackDriftDetectionId><Timestamp>${new Date().toISOString()}</Timestamp>`;
            if (!done) return ok(action, `${common}<DetectionStatus>DETECTION_IN_PROGRESS</DetectionStatus>`);
            if ("detectionFailed" in scenario) {
                return ok(
                    action,
                    `${common}<DetectionStatus>DETECTION_FAILED</DetectionStatus><DetectionStatusReason>${esc(scenario.detectionFailed)}</DetectionStatusReason><StackDriftStatus>UNKNOWN</StackDriftStatus>`,
                );
            }
            const drifted = scenario.drifts.length > 0;
            return ok(
                action,
                `${common}<DetectionStatus>DETECTION_COMPLETE</DetectionStatus><StackDriftStatus>${drifted ? "DRIFTED" : "IN_SYNC"}</StackDriftStatus><DriftedStackResourceCount>${scenario.drifts.length}</DriftedStackResourceCount>`,
            );
        }
        const stack = req.form.get("StackName") ?? "";
        const scenario = args.scenarios.get(at(stack));
        if (!scenario) return error("ValidationError", `Stack with id ${stack} does not exist`);
        const filters = [...req.form.entries()].filter(([k]) => k.startsWith("StackResourceDriftStatusFilters.member.")).map(([, v]) => v);
        const drifts = ("drifts" in scenario ? scenario.drifts : []).filter(
            (d) => filters.length === 0 || filters.includes(d.StackResourceDriftStatus),
        );
        const members = drifts
            .map(
                (d) =>
                    `<member><StackId>${stackArn(stack)}</StackId><LogicalResourceId>${esc(d.LogicalResourceId)}</LogicalResourceId>` +
                    `<PhysicalResourceId>${esc(d.PhysicalResourceId)}</PhysicalResourceId><ResourceType>${esc(d.ResourceType)}</ResourceType>` +
                    `<StackResourceDriftStatus>${d.StackResourceDriftStatus}</StackResourceDriftStatus><Timestamp>${new Date().toISOString()}</Timestamp>` +
                    `<PropertyDifferences>${(d.PropertyDifferences ?? [])
                        .map(
                            (p) =>
                                `<member><PropertyPath>${esc(p.PropertyPath)}</PropertyPath><ExpectedValue>${esc(p.ExpectedValue)}</ExpectedValue>` +
                                `<ActualValue>${esc(p.ActualValue)}</ActualValue><DifferenceType>${p.DifferenceType}</DifferenceType></member>`,
                        )
                        .join("")}</PropertyDifferences></member>`,
            )
            .join("");
        return ok(action, `<StackResourceDrifts>${members}</StackResourceDrifts>`);
    };

    const front = await startMotoFront({
        moto: args.moto,
        rewrite(req, motoAnswer) {
            const action = req.form.get("Action") ?? "";
            const body = motoAnswer.body.toString("utf8");
            if (action === "AssumeRole" && motoAnswer.status === 200) {
                sessions.push({
                    roleArn: req.form.get("RoleArn") ?? "",
                    sessionName: req.form.get("RoleSessionName") ?? "",
                    accessKeyId: tag(body, "AccessKeyId") ?? "",
                    secretAccessKey: tag(body, "SecretAccessKey") ?? "",
                    sessionToken: tag(body, "SessionToken") ?? "",
                });
                return motoAnswer;
            }
            if (req.service !== "cloudformation" || !DRIFT_ACTIONS.includes(action)) return motoAnswer;
            // moto authorised or refused the call before it found no such action: a refusal is passed on as is
            const denied = motoAnswer.status === 403 || /<Code>AccessDenied/.test(body);
            const detection = detections.get(req.form.get("StackDriftDetectionId") ?? "");
            calls.push({
                action,
                stack: req.form.get("StackName") ?? detection?.stack ?? "?",
                accessKeyId: req.accessKeyId,
                roleArn: roleOf(req.accessKeyId),
                denied,
            });
            return denied ? motoAnswer : answer(req, action);
        },
    });
    return { ...front, calls, sessions };
}
