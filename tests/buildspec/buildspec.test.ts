/**
 * buildspec.yml and the shell it runs (scripts/*.sh), read as text: Node 22, lockfile install, tests gate the
 * deploy, API_URL is exported, and nothing can trace or print credentials (the blog sample ran `set -x` and
 * echoed the assumed role's keys into CloudWatch Logs).
 */
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as yaml from "js-yaml";

const ROOT = resolve(__dirname, "..", "..");
const BUILDSPEC_PATH = join(ROOT, "buildspec.yml");
const PHASES = ["install", "pre_build", "build", "post_build"] as const;

interface Phase {
    "on-failure"?: string;
    "runtime-versions"?: Record<string, unknown>;
    commands?: string[];
}
interface Buildspec {
    version: unknown;
    env?: { shell?: string; variables?: Record<string, string>; "exported-variables"?: string[] };
    phases: Partial<Record<(typeof PHASES)[number], Phase>>;
    artifacts?: { files?: string[] };
}

const buildspecText = readFileSync(BUILDSPEC_PATH, "utf8");
const buildspec = yaml.load(buildspecText) as Buildspec;
const commands = PHASES.flatMap((phase) => (buildspec.phases[phase]?.commands ?? []).map((command) => ({ phase, command })));
const indexOf = (re: RegExp) => commands.findIndex((c) => re.test(c.command));

export const SHELL_SCRIPTS = readdirSync(join(ROOT, "scripts"))
    .filter((f) => f.endsWith(".sh"))
    .map((f) => join(ROOT, "scripts", f));

describe("buildspec.yml", () => {
    it("is a version 0.2 buildspec run by bash", () => {
        expect(buildspec.version).to.equal(0.2);
        expect(buildspec.env?.shell).to.equal("bash");
    });

    it("installs Node.js 22 and the lockfile's dependencies (no global or unpinned serverless)", () => {
        expect(buildspec.phases.install?.["runtime-versions"]).to.deep.equal({ nodejs: 22 });
        expect(indexOf(/^npm ci( --prefer-offline)?$/)).to.be.greaterThan(-1);
        expect(commands.find((c) => c.command.startsWith("npm ci"))?.phase).to.equal("install");
        for (const { command } of commands) {
            expect(command).to.not.match(/npm (install|i)\b.*(-g|--global)\b/);
            expect(command).to.not.match(/\b(serverless|osls)@/);
            expect(command).to.not.match(/^npm (install|i)\b/);
        }
    });

    it("deploys the Test stage's bundles without rebuilding or retesting, aborting on the first failure", () => {
        const deploy = indexOf(/scripts\/ci-deploy\.sh/);
        expect(deploy, "ci-deploy.sh").to.be.greaterThan(-1);
        expect(commands[deploy].phase).to.equal("build"); // post_build would run even after a failed build
        expect(indexOf(/^npm (test|run build)\b/), "tests and build belong to the Test stage (buildspec-test.yml)").to.equal(-1);
        for (const phase of ["install", "build"] as const) {
            expect(buildspec.phases[phase]?.["on-failure"], phase).to.equal("ABORT");
        }
        expect(
            commands.some((c) => /\bsls\b|serverless /.test(c.command)),
            "sls only inside ci-deploy.sh",
        ).to.equal(false);
    });

    it("exports API_URL from the deploy output and ships deploy-output.json as the artifact", () => {
        expect(buildspec.env?.["exported-variables"]).to.deep.equal(["API_URL"]);
        const assign = indexOf(/^API_URL="\$\(.*deploy-output\.json.*\)"$/);
        expect(assign, "API_URL assignment (not `export X=$(...)`, which hides failures)").to.be.greaterThan(indexOf(/ci-deploy\.sh/));
        expect(commands[indexOf(/^export API_URL$/)]?.phase).to.equal("build");
        expect(buildspec.artifacts?.files).to.include("deploy-output.json");
    });
});

describe("buildspec-test.yml (Test stage)", () => {
    const spec = yaml.load(readFileSync(join(ROOT, "buildspec-test.yml"), "utf8")) as any;
    const steps = PHASES.flatMap((phase) => (spec.phases[phase]?.commands ?? []).map((command: string) => ({ phase, command })));
    const at = (re: RegExp) => steps.findIndex((c) => re.test(c.command));

    it("runs the tests, then builds the bundles the later stages deploy", () => {
        expect(spec.phases.install["runtime-versions"]).to.deep.equal({ nodejs: 22 });
        const install = at(/^npm ci\b/);
        const test = at(/^npm test\b/);
        const build = at(/^npm run build$/);
        expect(install).to.be.greaterThan(-1);
        expect(install).to.be.lessThan(test);
        expect(test).to.be.lessThan(build);
        for (const phase of ["install", "pre_build", "build"]) expect(spec.phases[phase]["on-failure"], phase).to.equal("ABORT");
    });

    it("reports the mocha results to the report group the pipeline creates (<project>-mocha)", () => {
        expect(steps[at(/^npm test\b/)].command).to.contain("--reporter xunit --reporter-option output=reports/mocha.xml");
        expect(spec.reports).to.deep.equal({ mocha: { files: ["reports/mocha.xml"], "file-format": "JUNITXML" } });
    });

    it("ships the sources and build/ but not node_modules", () => {
        expect(spec.artifacts.files).to.deep.equal(["**/*"]);
        expect(spec.artifacts["exclude-paths"]).to.include("node_modules/**/*");
        expect(spec.cache.paths).to.deep.equal(["/root/.npm/**/*"]);
    });
});

describe("buildspec-smoke.yml (SmokeTest action)", () => {
    const spec = yaml.load(readFileSync(join(ROOT, "buildspec-smoke.yml"), "utf8")) as any;

    it("runs the dependency-free smoke test against the URL and mode the pipeline passes", () => {
        expect(spec.phases.install["runtime-versions"]).to.deep.equal({ nodejs: 22 });
        expect(spec.phases.install.commands ?? []).to.deep.equal([]);
        expect(spec.phases.build.commands).to.deep.equal(['node scripts/smoke-test.mjs --mode "$SMOKE_TEST_MODE" "$API_URL"']);
    });
});

describe("buildspec-pulumi.yml (Deploy action, pulumi deployer)", () => {
    const spec = yaml.load(readFileSync(join(ROOT, "buildspec-pulumi.yml"), "utf8")) as Buildspec;
    const steps = PHASES.flatMap((phase) => (spec.phases[phase]?.commands ?? []).map((command) => ({ phase, command })));
    const at = (re: RegExp) => steps.findIndex((c) => re.test(c.command));

    it("installs the lockfile's dependencies and the pinned Pulumi CLI, then deploys with pulumi-deploy.sh, aborting on failure", () => {
        expect(spec.phases.install?.["runtime-versions"]).to.deep.equal({ nodejs: 22 });
        const install = at(/^npm ci --prefer-offline$/);
        const cli = at(/^PULUMI_BIN="\$\(bash scripts\/install-pulumi\.sh\)"$/);
        const path = at(/^export PATH="\$PULUMI_BIN:\$PATH"$/);
        const deploy = at(/^bash scripts\/pulumi-deploy\.sh$/);
        expect(
            [install, cli, path, deploy].every((i) => i > -1),
            JSON.stringify(steps),
        ).to.equal(true);
        expect(install < cli && cli < path && path < deploy).to.equal(true);
        expect(steps[deploy].phase).to.equal("build");
        for (const phase of ["install", "build"] as const) expect(spec.phases[phase]?.["on-failure"], phase).to.equal("ABORT");
        expect(
            steps.some((c) => /\bpulumi (up|login|stack)\b/.test(c.command)),
            "pulumi only inside pulumi-deploy.sh",
        ).to.equal(false);
        expect(
            steps.some((c) => /get\.pulumi\.com|curl .*\| *(ba)?sh/.test(c.command)),
            "no unpinned installer",
        ).to.equal(false);
    });

    it("exports API_URL and ships deploy-output.json like the serverless deployer", () => {
        expect(spec.env?.["exported-variables"]).to.deep.equal(buildspec.env?.["exported-variables"]);
        expect(spec.artifacts).to.deep.equal(buildspec.artifacts);
        const tail = (b: Buildspec) => b.phases.build!.commands!.slice(1);
        expect(tail(spec)).to.deep.equal(tail(buildspec));
    });
});

describe("buildspec-drift.yml (drift check)", () => {
    const spec = yaml.load(readFileSync(join(ROOT, "buildspec-drift.yml"), "utf8")) as Buildspec;

    it("runs the dependency-free drift check on Node.js 22, aborting on failure", () => {
        expect(spec.phases.install?.["runtime-versions"]).to.deep.equal({ nodejs: 22 });
        expect(spec.phases.build?.commands).to.deep.equal(["node scripts/drift-check.mjs"]);
        for (const phase of ["install", "build"] as const) expect(spec.phases[phase]?.["on-failure"], phase).to.equal("ABORT");
    });
});

describe("no credential tracing or echoing in buildspec*.yml and scripts/*.sh", () => {
    const files = [
        BUILDSPEC_PATH,
        ...["buildspec-test.yml", "buildspec-smoke.yml", "buildspec-pulumi.yml", "buildspec-drift.yml"].map((f) => join(ROOT, f)),
        ...SHELL_SCRIPTS,
    ];
    const forbidden: [string, RegExp][] = [
        ["xtrace via set -x / set -ex / set -euxo", /\bset\s+-[a-wyz]*x/],
        ["xtrace via set -o xtrace", /\bset\s+-o\s+xtrace\b/],
        ["bash -x", /\bbash\s+-[a-z]*x/],
        ["echo/printf of an AWS_* variable", /\b(echo|printf)\b[^\n]*\$\{?AWS_/],
        ["printenv / bare env dump", /\bprintenv\b|^\s*-?\s*env\s*(\||$)/m],
        ["sts assume-role in the shell (use the role_arn profile)", /\bsts\s+assume-role\b/],
        ["credential export", /export-credentials|configure\s+set\s+aws_(secret|session|access)/],
        ["AWS key variables exported in the shell", /\bexport\s+AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)\b/],
        ["--debug (prints signed requests)", /\s--debug\b/],
    ];

    it("finds the buildspec and the deploy scripts", () => {
        expect(SHELL_SCRIPTS.map((f) => f.slice(ROOT.length + 1)).sort()).to.include.members([
            "scripts/assume-deploy-role.sh",
            "scripts/ci-deploy.sh",
            "scripts/install-pulumi.sh",
            "scripts/pulumi-deploy.sh",
        ]);
    });

    for (const [label, re] of forbidden) {
        it(`has no ${label}`, () => {
            for (const file of files) {
                const hit = readFileSync(file, "utf8")
                    .split("\n")
                    .find((line) => re.test(line));
                expect(hit, `${file.slice(ROOT.length + 1)}: ${hit}`).to.equal(undefined);
            }
        });
    }

    it("every script is strict bash that switches tracing off first", () => {
        for (const file of SHELL_SCRIPTS) {
            const text = readFileSync(file, "utf8");
            const name = file.slice(ROOT.length + 1);
            expect(text.startsWith("#!/usr/bin/env bash\n"), name).to.equal(true);
            const lines = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
            expect(lines[0], `${name}: first command`).to.equal("{ set +o xtrace +o verbose; } 2>/dev/null");
            expect(lines[1], `${name}: second command`).to.equal("set -euo pipefail");
            expect(statSync(file).mode & 0o111, `${name} is executable`).to.not.equal(0);
        }
    });
});
