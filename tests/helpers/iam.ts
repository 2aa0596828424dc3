import { expect } from "chai";

export interface Statement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: unknown;
    Action?: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
}

export const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function statement(doc: { Statement: Statement[] }, sid: string): Statement {
    const found = doc.Statement.filter((s) => s.Sid === sid);
    expect(found, `statement ${sid}`).to.have.length(1);
    return found[0];
}

/**
 * Least-privilege rules every identity policy here keeps: no wildcard service or action (`*`, `iam:*`),
 * every Allow names its resources, and a `*` resource only for the actions listed as AWS-required.
 */
export function expectLeastPrivilege(doc: { Statement: Statement[] }, actionsAwsRequiresOnStar: string[] = []): void {
    for (const s of doc.Statement) {
        const where = `statement ${s.Sid ?? JSON.stringify(s)}`;
        const actions = list(s.Action);
        expect(actions, `${where} has actions`).to.not.be.empty;
        for (const a of actions) {
            expect(a, `${where}: wildcard action`).to.not.equal("*");
            expect(a, `${where}: whole-service action`).to.not.match(/^[a-z0-9-]+:\*$/);
        }
        if (s.Effect !== "Allow") continue;
        const resources = list(s.Resource);
        expect(resources, `${where} names its resources`).to.not.be.empty;
        if (resources.includes("*")) {
            for (const a of actions) expect(actionsAwsRequiresOnStar, `${where}: ${a} on "*"`).to.include(a);
        }
    }
}

export function allowedActions(doc: { Statement: Statement[] }): string[] {
    return doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action));
}
