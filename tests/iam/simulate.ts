// Runs one request through @cloud-copilot/iam-simulate (AGPL-3.0, a test-only devDependency) the way AWS
// evaluates it: the caller's identity policies, the resource's policy (a role's trust policy, a bucket or key
// policy) and the caller's permissions boundary.
//
// Boundaries: the simulator takes them natively (`permissionBoundaryPolicies`). Each boundary case is also
// evaluated as identity-only and boundary-only (the boundary as if it were the identity policy), and the native
// result must equal their intersection — so the matrix does not rest on one reading of the simulator.

import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { NamedPolicy, PolicyDoc } from "./policies-from-stacks";

export type Expected = "Allowed" | "Denied";

export interface Caller {
    /** Short label for the table. */
    readonly label: string;
    /** Principal ARN, or a service principal (`cloudformation.amazonaws.com`) for trust cases. */
    readonly principal: string;
    readonly identity: NamedPolicy[];
    readonly boundary?: NamedPolicy;
    /** The stack role this caller is, with its own policies (`RoleModel.source`); unset for a stand-in or a variant. */
    readonly source?: string;
}

export interface IamCase {
    readonly caller: Caller;
    readonly action: string;
    readonly resource: string;
    /** Account owning the resource; defaults to the ARN's account field (required for S3). */
    readonly resourceAccount?: string;
    /** Condition keys of the request, shown in the table. aws:PrincipalArn is added for ARN principals. */
    readonly context?: Record<string, string>;
    readonly resourcePolicy?: PolicyDoc;
    /** For sts:AssumeRole of a stack role: that role's `RoleModel.source` (its trust policy is `resourcePolicy`). */
    readonly assumed?: string;
    readonly expected: Expected;
}

export interface CaseResult {
    readonly actual: Expected;
    /** The simulator's overall result: Allowed, ImplicitlyDenied or ExplicitlyDenied. */
    readonly detail: string;
    /** Context keys the simulator dropped as not applying to the action (should be none). */
    readonly ignoredContextKeys: string[];
    /** For boundary cases: identity-only and boundary-only results. */
    readonly parts?: { identity: string; boundary: string };
}

async function evaluate(
    c: IamCase,
    identity: NamedPolicy[],
    boundary: NamedPolicy | undefined,
): Promise<{ overall: string; ignored: string[] }> {
    const accountId = c.resourceAccount ?? c.resource.split(":")[4];
    if (!/^\d{12}$/.test(accountId ?? "")) throw new Error(`no account for resource ${c.resource}; set resourceAccount`);
    const contextVariables: Record<string, string> = { ...(c.context ?? {}) };
    if (c.caller.principal.startsWith("arn:") && contextVariables["aws:PrincipalArn"] === undefined) {
        contextVariables["aws:PrincipalArn"] = c.caller.principal;
    }
    const result = await runSimulation(
        {
            request: { principal: c.caller.principal, action: c.action, resource: { resource: c.resource, accountId }, contextVariables },
            identityPolicies: identity.map((p) => ({ name: p.name, policy: p.policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: c.resourcePolicy,
            permissionBoundaryPolicies: boundary ? [{ name: boundary.name, policy: boundary.policy }] : undefined,
        },
        {},
    );
    if (result.resultType === "error")
        throw new Error(`simulation error for ${c.action} on ${c.resource}: ${JSON.stringify(result.errors)}`);
    if (result.resultType !== "single")
        throw new Error(`expected a single-resource simulation for ${c.resource}, got ${result.resultType}`);
    return { overall: result.overallResult, ignored: result.result.ignoredContextKeys ?? [] };
}

export async function simulate(c: IamCase): Promise<CaseResult> {
    const main = await evaluate(c, c.caller.identity, c.caller.boundary);
    const actual: Expected = main.overall === "Allowed" ? "Allowed" : "Denied";
    if (!c.caller.boundary) return { actual, detail: main.overall, ignoredContextKeys: main.ignored };

    const identityOnly = await evaluate(c, c.caller.identity, undefined);
    const boundaryOnly = await evaluate(c, [c.caller.boundary], undefined);
    const intersection = identityOnly.overall === "Allowed" && boundaryOnly.overall === "Allowed";
    if (intersection !== (actual === "Allowed")) {
        throw new Error(
            `simulator boundary result ${main.overall} disagrees with identity (${identityOnly.overall}) ∩ boundary (${boundaryOnly.overall}) ` +
                `for ${c.action} on ${c.resource}`,
        );
    }
    return {
        actual,
        detail: main.overall,
        ignoredContextKeys: main.ignored,
        parts: { identity: identityOnly.overall, boundary: boundaryOnly.overall },
    };
}

/** Markdown table of the matrix. */
export function matrixTable(rows: { c: IamCase; r?: CaseResult }[]): string {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    const ctx = (c: IamCase) =>
        Object.entries(c.context ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "–";
    const short = (d: string) => (d === "ImplicitlyDenied" ? "Denied (implicit)" : d === "ExplicitlyDenied" ? "Denied (explicit)" : d);
    const bare = (d: string) => (d === "Allowed" ? d : "Denied");
    const lines = [
        "| # | principal | action | resource | context | expected | actual |",
        "|---|---|---|---|---|---|---|",
        ...rows.map(({ c, r }, i) => {
            const actual = !r
                ? "not run"
                : r.parts
                  ? `${short(r.detail)} (identity ${bare(r.parts.identity)} ∩ boundary ${bare(r.parts.boundary)})`
                  : short(r.detail);
            const mark = r && r.actual !== c.expected ? " ✗" : "";
            return `| ${i + 1} | ${esc(c.caller.label)} | ${c.action} | ${esc(c.resource)} | ${esc(ctx(c))} | ${c.expected} | ${actual}${mark} |`;
        }),
    ];
    return lines.join("\n");
}
