/**
 * scripts/ci-deploy.sh + scripts/assume-deploy-role.sh (and buildspec.yml's build phase) run for real, against a
 * fake `aws` CLI and a fake `npx`/`sls` on PATH. The fake CLI behaves like the real one where it matters here:
 * it resolves the profile from AWS_CONFIG_FILE (role_arn → assumed-role identity), caches "assumed" credentials
 * containing FAKESECRET under ~/.aws/cli/cache, and would hand out FAKESECRET keys to `sts assume-role`.
 * The environment also carries FAKESECRET values (env keys, container token). None may reach any output,
 * not even with xtrace forced on from outside (SHELLOPTS / BASH_ENV).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import * as yaml from "js-yaml";
import { PIPELINE_ENV } from "./pipeline-env";

const ROOT = resolve(__dirname, "..", "..");
const SECRET = "FAKESECRET";

interface Sandbox {
    dir: string;
    home: string;
    log: string;
    env: NodeJS.ProcessEnv;
}

const sandboxes: string[] = [];
after(() => sandboxes.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sandbox(overrides: Record<string, string | undefined> = {}): Sandbox {
    const dir = mkdtempSync(join(tmpdir(), "ci-deploy-"));
    sandboxes.push(dir);
    const bin = join(dir, "fakebin");
    const home = join(dir, "home");
    mkdirSync(bin);
    mkdirSync(home);
    mkdirSync(join(dir, "scripts"));
    for (const f of ["ci-deploy.sh", "ci-deploy-env.sh", "assume-deploy-role.sh"])
        copyFileSync(join(ROOT, "scripts", f), join(dir, "scripts", f));
    copyFileSync(join(ROOT, "serverless.yml"), join(dir, "serverless.yml"));
    mkdirSync(join(dir, "build"));
    writeFileSync(join(dir, "build", "create-product.zip"), "zip");
    writeFileSync(join(dir, "build", "find-product.zip"), "zip");
    for (const name of ["aws", "npx", "npm"]) {
        copyFileSync(join(__dirname, "fakes", name), join(bin, name));
        chmodSync(join(bin, name), 0o755);
    }
    const log = join(dir, "calls.log");
    writeFileSync(log, "");
    const env: NodeJS.ProcessEnv = {
        PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: home,
        LANG: "C.UTF-8",
        FAKE_LOG: log,
        FAKE_EXPECT_STACK: "product-catalog-service-dev",
        FAKE_SERVICE_ENDPOINT: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
        // the pipeline's CodeBuild environment
        ...PIPELINE_ENV,
        // what CodeBuild provides for the container credentials (a secret-bearing token here)
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/0000-fake",
        AWS_CONTAINER_AUTHORIZATION_TOKEN: `${SECRET}-container-token`,
    };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete env[k];
        else env[k] = v;
    }
    return { dir, home, log, env };
}

function run(sb: Sandbox, command: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const r = spawnSync(command[0], command.slice(1), { cwd: sb.dir, env: { ...sb.env, ...extraEnv }, encoding: "utf8", timeout: 30_000 });
    return {
        status: r.status,
        stdout: r.stdout,
        stderr: r.stderr,
        output: `${r.stdout}\n${r.stderr}`,
        calls: readFileSync(sb.log, "utf8").split("\n").filter(Boolean),
    };
}

const deploy = (sb: Sandbox, extraEnv: NodeJS.ProcessEnv = {}) => run(sb, ["bash", "scripts/ci-deploy.sh"], extraEnv);
const profileText = (sb: Sandbox) => readFileSync(join(sb.home, ".aws", "config"), "utf8");

describe("scripts/ci-deploy.sh with a fake aws CLI and sls", function () {
    this.timeout(30_000);

    it("assumes the role through a profile, checks the account, packages, deploys and writes deploy-output.json", () => {
        const sb = sandbox();
        const r = deploy(sb);
        expect(r.status, r.output).to.equal(0);

        expect(r.calls).to.deep.equal([
            "aws sts get-caller-identity --profile target-deploy --region us-east-1 --query [Account, Arn] --output text",
            "npx --no -- sls package --stage dev --region us-east-1 --param=cfnRoleArn=arn:aws:iam::222222222222:role/product-catalog-cfn-execution " +
                "--param=deploymentBucket=product-catalog-deployments-222222222222-us-east-1 " +
                "--param=permissionsBoundaryArn=arn:aws:iam::222222222222:policy/product-catalog-workload-boundary --package .serverless-package",
            "npx --no -- sls deploy --stage dev --region us-east-1 --param=cfnRoleArn=arn:aws:iam::222222222222:role/product-catalog-cfn-execution " +
                "--param=deploymentBucket=product-catalog-deployments-222222222222-us-east-1 " +
                "--param=permissionsBoundaryArn=arn:aws:iam::222222222222:policy/product-catalog-workload-boundary --package .serverless-package " +
                "--aws-profile target-deploy",
            "aws cloudformation describe-stacks --stack-name product-catalog-service-dev --profile target-deploy --region us-east-1 " +
                "--query Stacks[0].Outputs[?OutputKey=='ServiceEndpoint'].OutputValue | [0] --output text",
        ]);

        expect(JSON.parse(readFileSync(join(sb.dir, "deploy-output.json"), "utf8"))).to.deep.equal({
            url: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
            stage: "dev",
            region: "us-east-1",
            account: "222222222222",
            stack: "product-catalog-service-dev",
            service: "product-catalog-service",
        });
        expect(r.stdout.trim().split("\n").pop()).to.equal("API_URL=https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev");
        expect(r.stdout).to.include("arn:aws:sts::222222222222:assumed-role/product-catalog-deploy/codebuild-42-dev");
    });

    it("writes a profile with role_arn and credential_source only (no keys), private to the build user", () => {
        const sb = sandbox();
        expect(deploy(sb).status).to.equal(0);
        const text = profileText(sb);
        expect(text).to.equal(
            [
                "[profile target-deploy]",
                "role_arn = arn:aws:iam::222222222222:role/product-catalog-deploy",
                "credential_source = EcsContainer",
                "role_session_name = codebuild-42-dev",
                "duration_seconds = 3600",
                "region = us-east-1",
                "sts_regional_endpoints = regional",
                "",
            ].join("\n"),
        );
        expect(text).to.not.match(/aws_access_key_id|aws_secret_access_key|aws_session_token/i);
        expect(statSync(join(sb.home, ".aws", "config")).mode & 0o077).to.equal(0);
    });

    it("replaces a stale profile of the same name and keeps the others", () => {
        const sb = sandbox();
        mkdirSync(join(sb.home, ".aws"));
        writeFileSync(
            join(sb.home, ".aws", "config"),
            `[default]\nregion = eu-west-1\n\n[profile target-deploy]\naws_secret_access_key = ${SECRET}-stale\nrole_arn = arn:aws:iam::999999999999:role/old\n\n[profile other]\nregion = us-west-2\n`,
        );
        expect(deploy(sb).status).to.equal(0);
        const text = profileText(sb);
        expect(text).to.not.include(SECRET);
        expect(text).to.not.include("999999999999");
        expect(text).to.include("[default]\nregion = eu-west-1");
        expect(text).to.include("[profile other]\nregion = us-west-2");
        expect(text.match(/\[profile target-deploy\]/g)).to.have.length(1);
    });

    it("never lets a credential reach stdout/stderr or a file it writes, even with xtrace forced on via SHELLOPTS and BASH_ENV", () => {
        const sb = sandbox({
            AWS_ACCESS_KEY_ID: "AKIAFAKEENVKEY",
            AWS_SECRET_ACCESS_KEY: `${SECRET}-env-secret`,
            AWS_SESSION_TOKEN: `${SECRET}-env-token`,
        });
        const bashEnv = join(sb.dir, "bash_env");
        writeFileSync(bashEnv, "set -o xtrace\n");
        const traced = { SHELLOPTS: "xtrace", BASH_ENV: bashEnv };

        // control: the harness really does trace, and tracing really would leak an expanded secret
        const control = run(sb, ["bash", "-c", 'k="$AWS_SECRET_ACCESS_KEY"; t="$AWS_CONTAINER_AUTHORIZATION_TOKEN"; :'], traced);
        expect(control.stderr).to.include(`${SECRET}-env-secret`);

        const r = deploy(sb, traced);
        expect(r.status, r.output).to.equal(0);
        expect(r.output).to.not.include(SECRET);
        expect(profileText(sb)).to.not.include(SECRET);
        expect(readFileSync(join(sb.dir, "deploy-output.json"), "utf8")).to.not.include(SECRET);
        // credentials were obtained the way they should be: by the CLI, from the profile, cached by the CLI itself
        expect(readFileSync(join(sb.home, ".aws", "cli", "cache", "fake.json"), "utf8")).to.include(SECRET);
        expect(r.calls.some((c) => c.includes("assume-role"))).to.equal(false);
    });

    it("fails early and clearly when the assumed identity is in another account, before packaging anything", () => {
        const sb = sandbox({ FAKE_CALLER_ACCOUNT: "333333333333" });
        const r = deploy(sb);
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.match(
            /assumed identity arn:aws:sts::333333333333:assumed-role\/\S+ is in account 333333333333, expected TARGET_ACCOUNT_ID 222222222222/,
        );
        expect(r.calls.filter((c) => c.startsWith("npx"))).to.deep.equal([]);
        expect(existsSync(join(sb.dir, "deploy-output.json"))).to.equal(false);
    });

    it("refuses a deploy role or execution role outside the target account without calling AWS", () => {
        for (const [name, value] of [
            ["DEPLOY_ROLE_ARN", "arn:aws:iam::111111111111:role/product-catalog-deploy"],
            ["CFN_EXECUTION_ROLE_ARN", "arn:aws:iam::111111111111:role/cfn"],
            ["PERMISSIONS_BOUNDARY_ARN", "arn:aws:iam::111111111111:policy/b"],
        ]) {
            const r = deploy(sandbox({ [name]: value }));
            expect(r.status, name).to.not.equal(0);
            expect(r.stderr).to.include(`${name} is in account 111111111111, not TARGET_ACCOUNT_ID 222222222222`);
            expect(r.calls, name).to.deep.equal([]);
        }
    });

    it("names every missing pipeline variable and calls nothing", () => {
        const r = deploy(sandbox({ PERMISSIONS_BOUNDARY_ARN: undefined, DEPLOYMENT_BUCKET: "" }));
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.include("required environment variable(s) not set: DEPLOYMENT_BUCKET PERMISSIONS_BOUNDARY_ARN");
        expect(r.calls).to.deep.equal([]);
    });

    it("rejects stages that would break the naming contract (e.g. the sample's DEV) and a foreign SERVICE_NAME", () => {
        for (const stage of ["DEV", "dev_1", "dev-", "a--b", "this-stage-is-too-long"]) {
            const r = deploy(sandbox({ STAGE: stage }));
            expect(r.status, stage).to.not.equal(0);
            expect(r.stderr, stage).to.include(`STAGE '${stage}' must be lowercase`);
        }
        const r = deploy(sandbox({ SERVICE_NAME: "other-service" }));
        expect(r.stderr).to.include("SERVICE_NAME 'other-service' differs from serverless.yml service 'product-catalog-service'");
        expect(r.calls).to.deep.equal([]);
    });

    it("fails outside CodeBuild (no container credentials endpoint) unless another credential source is chosen", () => {
        const r = deploy(sandbox({ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined }));
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.include("credential_source EcsContainer needs the container credentials endpoint");
        const ok = deploy(
            sandbox({
                AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
                DEPLOY_CREDENTIAL_SOURCE: "Environment",
                FAKE_EXPECT_SOURCE: "Environment",
            }),
        );
        expect(ok.status, ok.output).to.equal(0);
    });

    it("fails without writing an output when the deploy fails or the stack has no ServiceEndpoint", () => {
        const failed = sandbox({ FAKE_DEPLOY_RC: "1" });
        const r1 = deploy(failed);
        expect(r1.status).to.not.equal(0);
        expect(r1.calls.some((c) => c.includes("describe-stacks"))).to.equal(false);
        expect(existsSync(join(failed.dir, "deploy-output.json"))).to.equal(false);

        const noOutput = sandbox({ FAKE_SERVICE_ENDPOINT: "None" });
        const r2 = deploy(noOutput);
        expect(r2.status).to.not.equal(0);
        expect(r2.stderr).to.include("stack product-catalog-service-dev has no usable API URL (got 'None')");
        expect(existsSync(join(noOutput.dir, "deploy-output.json"))).to.equal(false);
    });

    it("fails when the build artifacts are missing", () => {
        const sb = sandbox();
        rmSync(join(sb.dir, "build"), { recursive: true });
        const r = deploy(sb);
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.include("build/create-product.zip is missing: run 'npm run build' first");
        expect(r.calls).to.deep.equal([]);
    });
});

describe("buildspec.yml build phase, run as CodeBuild would (one bash, each command's exit status checked)", function () {
    this.timeout(30_000);
    const buildCommands = (yaml.load(readFileSync(join(ROOT, "buildspec.yml"), "utf8")) as any).phases.build.commands as string[];

    function runBuildPhase(sb: Sandbox) {
        const script = [
            ...buildCommands.map((c, i) => `${c}\nrc=$?; if [ $rc -ne 0 ]; then echo "COMMAND ${i} FAILED: $rc" >&2; exit $rc; fi`),
            // what CodeBuild exports: the variable as a child process sees it
            'bash -c \'printf "EXPORTED_API_URL=%s\\n" "$API_URL"\'',
        ].join("\n");
        writeFileSync(join(sb.dir, "build-phase.sh"), script);
        return run(sb, ["bash", "build-phase.sh"]);
    }

    it("deploys the bundles it was given (no rebuild) and exports API_URL", () => {
        const r = runBuildPhase(sandbox());
        expect(r.status, r.output).to.equal(0);
        expect(r.stdout).to.include("EXPORTED_API_URL=https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev\n");
        expect(r.calls.filter((c) => c.startsWith("npm "))).to.deep.equal([]);
    });

    it("stops at the failing deploy instead of exporting anything", () => {
        const r = runBuildPhase(sandbox({ FAKE_CALLER_ACCOUNT: "333333333333" }));
        expect(r.status).to.not.equal(0);
        expect(r.stderr).to.include("COMMAND 0 FAILED");
        expect(r.stdout).to.not.include("EXPORTED_API_URL");
    });
});
