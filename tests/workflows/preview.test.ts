// .github/workflows/preview.yml: what a pull request's code can reach. The test job gets only the runner; the
// preview job gets read-only credentials for the tools and target accounts and a Pulumi team token, and only in the
// `pulumi-preview` environment (approved by a maintainer, the one `sub` the AWS roles trust). Actions are pinned by
// commit. Read from the file itself: js-yaml for the structure, the raw text for comments (pins, trust policy).

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { ROOT, loadStackFile } from "../helpers/stack-files";

const FILE = ".github/workflows/preview.yml";
const TEXT = readFileSync(join(ROOT, FILE), "utf8");
const ENVIRONMENT = "pulumi-preview";

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, unknown>;
}
interface Job {
    permissions?: Record<string, string>;
    environment?: string | { name: string };
    strategy?: { matrix?: { include?: Record<string, string>[] } };
    steps: Step[];
}
interface Workflow {
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}

const workflow = yaml.load(TEXT) as Workflow;
const { test: testJob, preview: previewJob } = workflow.jobs;
const action = (step: Step) => step.uses?.split("@")[0];
const stepUsing = (job: Job, name: string) => {
    const step = job.steps.find((s) => action(s) === name);
    if (!step) throw new Error(`no ${name} step`);
    return step;
};
const environmentName = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);

describe("preview workflow (.github/workflows/preview.yml)", () => {
    it("pins every action to a full commit SHA, with its release tag in a trailing comment", () => {
        const usesLines = TEXT.split("\n").filter((line) => /^\s*(-\s+)?uses:/.test(line));
        const parsedUses = Object.values(workflow.jobs).flatMap((job) => job.steps.filter((s) => s.uses).map((s) => s.uses));
        expect(usesLines, "every `uses:` is on a line of its own").to.have.length(parsedUses.length);
        expect(usesLines.length).to.be.greaterThan(0);
        for (const line of usesLines) {
            expect(line.trim()).to.match(/^(- )?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
        }
    });

    it("grants contents: read at the top, and id-token / pull-requests write only to the job gated by the environment", () => {
        expect(workflow.permissions).to.deep.equal({ contents: "read" });
        for (const [name, job] of Object.entries(workflow.jobs)) {
            expect(job.permissions, `${name} states its own permissions`).to.be.an("object");
            const writes = Object.entries(job.permissions!).filter(([, level]) => level !== "read");
            if (writes.length > 0) expect(environmentName(job), `${name} has write permissions`).to.equal(ENVIRONMENT);
        }
        expect(testJob.permissions).to.deep.equal({ contents: "read" });
        expect(previewJob.permissions).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
    });

    it("gives the test job nothing but Node.js 22 (.nvmrc) and Python 3: no secret, variable, OIDC token or cloud step", () => {
        const job = JSON.stringify(testJob);
        expect(job).not.to.match(/secrets\.|vars\.|github\.token|id-token|AWS_|PULUMI_/);
        expect(testJob.environment).to.equal(undefined);
        expect(testJob.steps.filter((s) => s.uses).map(action)).to.deep.equal([
            "actions/checkout",
            "actions/setup-node",
            "actions/setup-python",
        ]);
        expect(stepUsing(testJob, "actions/setup-node").with).to.include({ "node-version-file": ".nvmrc" });
        expect(String(stepUsing(testJob, "actions/setup-python").with?.["python-version"])).to.match(/^3\.1[12]$/);
        expect(testJob.steps.filter((s) => s.run).map((s) => s.run)).to.deep.equal([
            "npm ci --ignore-scripts --no-audit --no-fund",
            "npm test",
        ]);
    });

    it("checks out without leaving the GITHUB_TOKEN in .git, in every job", () => {
        for (const [name, job] of Object.entries(workflow.jobs)) {
            expect(stepUsing(job, "actions/checkout").with?.["persist-credentials"], name).to.equal(false);
        }
    });

    it("runs the preview job in the pulumi-preview environment, after the tests, never for forks", () => {
        expect(previewJob.environment).to.equal(ENVIRONMENT);
        expect((previewJob as unknown as { needs: string }).needs).to.equal("test");
        expect((previewJob as unknown as { if: string }).if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
    });

    it("previews the tools stack and the one target stack, each in its stack's account, and nothing of prod", () => {
        const matrix = previewJob.strategy?.matrix?.include ?? [];
        expect(matrix.map((entry) => entry.stack)).to.deep.equal(["tools", "target"]);
        expect(JSON.stringify(previewJob.strategy)).not.to.match(/prod/i);
        expect(TEXT.match(/\b(vars|secrets)\.\w+/g) ?? [], "no variable or secret of prod").to.satisfy((names: string[]) =>
            names.every((name) => !/prod/i.test(name)),
        );
        for (const entry of matrix) {
            const allowed = loadStackFile(`Pulumi.${entry.stack}.yaml`)["aws:allowedAccountIds"];
            expect([entry.account], `${entry.stack}: the account of Pulumi.${entry.stack}.yaml`).to.deep.equal(allowed);
        }
    });

    it("installs without lifecycle scripts or a restored cache before any credential enters the preview job", () => {
        const steps = previewJob.steps;
        const install = steps.findIndex((s) => s.run === "npm ci --ignore-scripts --no-audit --no-fund");
        const firstCredential = steps.findIndex((s) =>
            ["aws-actions/configure-aws-credentials", "pulumi/auth-actions"].includes(action(s)!),
        );
        expect(install).to.be.at.least(0);
        expect(install).to.be.lessThan(firstCredential);
        const setupNode = stepUsing(previewJob, "actions/setup-node").with ?? {};
        expect(setupNode).not.to.have.property("cache");
        expect(setupNode["package-manager-cache"]).to.equal(false);
    });

    it("assumes the account's pulumi-preview role through OIDC, briefly, and only in the expected account", () => {
        const aws = stepUsing(previewJob, "aws-actions/configure-aws-credentials").with ?? {};
        expect(aws).to.include({
            "role-to-assume": "arn:aws:iam::${{ matrix.account }}:role/pulumi-preview",
            "allowed-account-ids": "${{ matrix.account }}",
            "role-duration-seconds": 900,
        });
        expect(Object.keys(aws).filter((key) => /access-key|secret|session-token/.test(key))).to.deep.equal([]);
    });

    it("gets a short-lived Pulumi team token by OIDC instead of a stored access token", () => {
        expect(JSON.stringify(workflow), "no stored secret anywhere (comments aside)").not.to.contain("secrets.");
        const auth = stepUsing(previewJob, "pulumi/auth-actions").with ?? {};
        expect(auth).to.include({
            organization: "${{ vars.PULUMI_ORG }}",
            "requested-token-type": "urn:pulumi:token-type:access_token:team",
            scope: "team:pulumi-preview",
        });
        expect(auth["token-expiration"]).to.be.a("number").and.at.most(3600);
        const preview = stepUsing(previewJob, "pulumi/actions");
        expect(preview.with).to.include({ command: "preview", "stack-name": "${{ vars.PULUMI_ORG }}/${{ matrix.stack }}" });
        expect(preview.env).to.equal(undefined);
    });

    it("documents the role trust policy: GitHub's OIDC provider, audience sts.amazonaws.com, the environment's exact sub", () => {
        const lines = TEXT.split("\n").filter((line) => line.startsWith("#"));
        const start = lines.findIndex((line) => line.trim() === "#        {");
        const end = lines.findIndex((line, i) => i > start && line.trim() === "#        }");
        expect(start, "trust policy JSON in the header").to.be.at.least(0);
        const policy = JSON.parse(
            lines
                .slice(start, end + 1)
                .map((line) => line.slice(1))
                .join("\n"),
        );
        expect(policy.Statement).to.have.length(1);
        const [statement] = policy.Statement;
        expect(statement).to.deep.include({
            Effect: "Allow",
            Action: "sts:AssumeRoleWithWebIdentity",
            Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" },
        });
        expect(statement.Condition).to.deep.equal({
            StringEquals: {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": `repo:<owner>/<repo>:environment:${ENVIRONMENT}`,
            },
        });
    });
});
