/**
 * CloudFormation drift detection, stood in for in front of moto (tests/helpers/moto-front.ts).
 *
 * Why this stand-in exists: moto has no drift detection (moto/cloudformation has no DetectStackDrift,
 * DescribeStackDriftDetectionStatus or DescribeStackResourceDrifts; an unknown action answers an error). So these
 * three calls are answered here, as CloudFormation answers them, from a scenario the test sets per stack: in
 * sync, drifted (these resources, these property differences), or detection failed. Everything else the drift
 * check does goes to moto: assuming each deploy role through STS with access control on, and publishing to SNS.
 * What it does not check: the caller's IAM permission for the drift calls (the IAM simulation has those cases).
 */
import { randomUUID } from "node:crypto";
import { FrontRequest, MotoFront, startMotoFront, xmlAnswer } from "../helpers/moto-front";

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

export interface DriftFront extends MotoFront {
    /** Drift calls answered, with the access key that signed each. */
    readonly calls: { action: string; stack: string; accessKeyId?: string }[];
}

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

/**
 * `scenarios` maps "<account>/<region>/<stack>" to what drift detection finds there; a stack without a scenario
 * does not exist, as CloudFormation says. A call's account is that of the role whose session signed it: the
 * front learns it from the sts:AssumeRole answers that pass through it.
 */
export async function startDriftFront(args: { moto: string; scenarios: Map<string, DriftScenario> }): Promise<DriftFront> {
    const detections = new Map<string, { key: string; stack: string; started: number }>();
    const calls: DriftFront["calls"] = [];
    const accountOfKey = new Map<string, string>();

    const answer = (req: FrontRequest) => {
        if (req.service !== "cloudformation") return undefined;
        const action = req.form.get("Action") ?? "";
        if (!["DetectStackDrift", "DescribeStackDriftDetectionStatus", "DescribeStackResourceDrifts"].includes(action)) return undefined;
        const region = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1] ?? "";
        const account = (req.accessKeyId && accountOfKey.get(req.accessKeyId)) || "unknown";
        const at = (stack: string) => `${account}/${region}/${stack}`;
        const stackArn = (stack: string) =>
            `arn:aws:cloudformation:${region}:${account}:stack/${stack}/00000000-0000-0000-0000-000000000000`;

        if (action === "DetectStackDrift") {
            const stack = req.form.get("StackName") ?? "";
            calls.push({ action, stack, accessKeyId: req.accessKeyId });
            if (!args.scenarios.has(at(stack))) return error("ValidationError", `Stack with id ${stack} does not exist`);
            const id = randomUUID();
            detections.set(id, { key: at(stack), stack, started: Date.now() });
            return ok(action, `<StackDriftDetectionId>${id}</StackDriftDetectionId>`);
        }
        if (action === "DescribeStackDriftDetectionStatus") {
            const id = req.form.get("StackDriftDetectionId") ?? "";
            const detection = detections.get(id);
            calls.push({ action, stack: detection?.stack ?? "?", accessKeyId: req.accessKeyId });
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
        calls.push({ action, stack, accessKeyId: req.accessKeyId });
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
        answer,
        rewrite(req, answer) {
            const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(answer.body.toString("utf8"))?.[1];
            const role = req.form.get("Action") === "AssumeRole" ? req.form.get("RoleArn") : undefined;
            if (key && role) accountOfKey.set(key, role.split(":")[4]);
            return answer;
        },
    });
    return { ...front, calls };
}
