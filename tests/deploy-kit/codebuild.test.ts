// components/codebuild.ts kitBuildspec: the inline buildspec of a build that runs the deploy kit, parsed as CodeBuild
// would read it. Its checksum line is also run (bash + sha256sum) on the real kit bundle
// (components/deploy-kit-bundle.ts), as it is and tampered with, and the bundled kit itself is started once.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { API_URL_VARIABLE, DEPLOY_KIT_VARIABLES, kitBuildspec } from "../../components/codebuild";
import { deployKitBundle } from "../../components/deploy-kit-bundle";

interface Phase {
    "on-failure"?: string;
    "runtime-versions"?: Record<string, unknown>;
    commands: string[];
}
interface Buildspec {
    version: number;
    env: { shell: string; variables: Record<string, string>; "exported-variables"?: string[] };
    phases: { install: Phase; build: Phase; pre_build?: Phase; post_build?: Phase };
    artifacts?: { files: string[]; "discard-paths"?: string };
    cache?: { paths: string[] };
}

const parse = (text: string) => load(text) as Buildspec;
const KIT = "/tmp/deploy-kit.js";

describe("deploy kit buildspec (kitBuildspec)", () => {
    const deploy = parse(kitBuildspec("deploy"));
    const drift = parse(kitBuildspec("drift"));
    const pulumi = parse(kitBuildspec("deploy", { installProgram: true }));

    it("is a bash buildspec on Node.js 22 whose phases abort on failure", () => {
        for (const spec of [deploy, drift, pulumi]) {
            expect(spec.version).to.equal(0.2);
            expect(spec.env.shell).to.equal("bash");
            expect(spec.phases.install["runtime-versions"]).to.deep.equal({ nodejs: 22 });
            expect(Object.keys(spec.phases)).to.deep.equal(["install", "build"]);
            for (const phase of Object.values(spec.phases)) expect(phase["on-failure"]).to.equal("ABORT");
        }
    });

    it("fetches exactly the kit object its project names, and refuses it unless its SHA-256 is the pinned one", () => {
        const [fetch, check, ...rest] = deploy.phases.install.commands;
        expect(fetch).to.equal(
            `aws s3api get-object --bucket "$${DEPLOY_KIT_VARIABLES.bucket}" --key "$${DEPLOY_KIT_VARIABLES.key}" ${KIT} >/dev/null`,
        );
        expect(check).to.equal(`echo "$${DEPLOY_KIT_VARIABLES.sha256}  ${KIT}" | sha256sum --check --strict -`);
        expect(rest).to.deep.equal([]);
        expect(drift.phases.install.commands).to.deep.equal([fetch, check]);
    });

    it("runs the kit (nothing of the commit) and exports API_URL from deploy-output.json for the later actions", () => {
        expect(deploy.phases.build.commands).to.deep.equal([
            `node ${KIT} deploy`,
            `${API_URL_VARIABLE}="$(node -p 'require("./deploy-output.json").url')"`,
            `export ${API_URL_VARIABLE}`,
        ]);
        expect(deploy.env["exported-variables"]).to.deep.equal([API_URL_VARIABLE]);
        expect(deploy.artifacts).to.deep.equal({ files: ["deploy-output.json"], "discard-paths": "yes" });
        const all = [...deploy.phases.install.commands, ...deploy.phases.build.commands].join("\n");
        expect(all).to.not.match(/npm (ci|install|run)|npx|\.\/scripts\/|set -x/);
    });

    it("drift runs `node … drift` and exports nothing", () => {
        expect(drift.phases.build.commands).to.deep.equal([`node ${KIT} drift`]);
        expect(drift.env["exported-variables"]).to.equal(undefined);
        expect(drift.artifacts).to.equal(undefined);
    });

    it("with the pulumi deployer installs the program's locked dependencies without lifecycle scripts, after the check", () => {
        expect(pulumi.phases.install.commands.slice(2)).to.deep.equal(["npm ci --ignore-scripts --prefer-offline"]);
        expect(pulumi.phases.install.commands[1]).to.include("sha256sum --check");
        expect(pulumi.cache).to.deep.equal({ paths: ["/root/.npm/**/*"] });
    });

    describe("with the real kit bundle", function () {
        this.timeout(30_000);
        let dir: string;
        let kitFile: string;
        const bundle = () => deployKitBundle();

        before(() => {
            dir = mkdtempSync(join(tmpdir(), "kit-buildspec-"));
            kitFile = join(dir, "deploy-kit.js");
            writeFileSync(kitFile, bundle().code);
        });
        after(() => rmSync(dir, { recursive: true, force: true }));

        /** The buildspec's checksum line, on the kit at `file`, with the pinned SHA-256 `sha256`. */
        const check = (file: string, sha256: string) =>
            spawnSync("bash", ["-c", deploy.phases.install.commands[1].replace(KIT, file)], {
                env: { PATH: process.env.PATH, [DEPLOY_KIT_VARIABLES.sha256]: sha256 },
                encoding: "utf8",
            });

        it("is stored under deploy-kit/<sha256>.js, the SHA-256 of its bytes", () => {
            const { code, sha256, key } = bundle();
            expect(sha256).to.equal(createHash("sha256").update(code).digest("hex"));
            expect(key).to.equal(`deploy-kit/${sha256}.js`);
        });

        it("passes the checksum line as fetched; a changed byte, or another pinned sum, fails it", () => {
            expect(check(kitFile, bundle().sha256).status).to.equal(0);
            const tampered = join(dir, "tampered.js");
            writeFileSync(tampered, `${bundle().code}\n// one more line\n`);
            const failed = check(tampered, bundle().sha256);
            expect(failed.status).to.not.equal(0);
            expect(failed.stdout + failed.stderr).to.include("FAILED");
            expect(check(kitFile, "0".repeat(64)).status).to.not.equal(0);
            expect(check(kitFile, "").status, "an unset pin").to.not.equal(0);
        });

        it("runs under node and refuses an unknown command or a missing target with exit 2", () => {
            const usage = spawnSync(process.execPath, [kitFile, "publish"], { encoding: "utf8", env: { PATH: process.env.PATH } });
            expect(usage.status).to.equal(2);
            expect(usage.stderr).to.include("usage: node deploy-kit.js deploy | drift");
            const noTarget = spawnSync(process.execPath, [kitFile, "deploy"], {
                encoding: "utf8",
                cwd: dir,
                env: { PATH: process.env.PATH },
            });
            expect(noTarget.status).to.equal(2);
            expect(noTarget.stderr).to.include("DEPLOY_TARGET must be the JSON of a deploy target");
            expect(existsSync(join(dir, "deploy-output.json")), "no output for a refused target").to.equal(false);
        });
    });
});
