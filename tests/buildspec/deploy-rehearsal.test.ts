/**
 * Deploy rehearsal: scripts/ci-deploy.sh with the REAL osls (package + deploy --package, then `sls info`) against
 * an in-process mock of AWS (tests/buildspec/mock-aws.ts). Only the `aws` CLI is faked (tests/buildspec/fakes/aws).
 * Proves offline that
 *   - the credential_source profile works with osls: the SDK fetches container credentials, calls
 *     sts:AssumeRole on DEPLOY_ROLE_ARN itself, and signs every deploy call with the assumed session;
 *   - CloudFormation gets RoleARN = CFN_EXECUTION_ROLE_ARN and the template from the deployment bucket;
 *   - exactly which AWS API calls `sls deploy --package` (create, then update) makes with a custom deployment
 *     bucket: DEPLOY_API_CALLS in ./mock-aws.ts, which the deploy role's IAM policy must allow. `sls deploy` ends
 *     by running `sls info` in-process, whose calls (DescribeStacks, ListStackResources) are thus included.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { buildArtifacts, FUNCTION_ARTIFACTS } from "../helpers/sls-package";
import { PIPELINE_ENV } from "./pipeline-env";
import { ASSUMED_KEY, CONTAINER_KEY, DEPLOY_API_CALLS, MockAws, MockCall, startMockAws } from "./mock-aws";

const ROOT = resolve(__dirname, "..", "..");

const PREFIX = "serverless/product-catalog-service/dev/";

describe("deploy rehearsal: ci-deploy.sh + real osls against a mock AWS", function () {
    this.timeout(120_000);
    let mock: MockAws;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    function exec(args: string[]): Promise<{ code: number | null; output: string; calls: MockCall[] }> {
        const from = mock.calls.length;
        return new Promise((done) => {
            // async spawn: the mock AWS lives in this process and must keep serving while the child runs
            const child = spawn(args[0], args.slice(1), { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
            let output = "";
            child.stdout.on("data", (d) => (output += d));
            child.stderr.on("data", (d) => (output += d));
            child.on("close", (code) => done({ code, output, calls: mock.calls.slice(from) }));
        });
    }

    const actions = (calls: MockCall[], key = ASSUMED_KEY) =>
        [...new Set(calls.filter((c) => c.akid === key).map((c) => `${c.service}:${c.action}`))].sort();

    before(async () => {
        mock = await startMockAws();
        dir = mkdtempSync(join(tmpdir(), "deploy-rehearsal-"));
        mkdirSync(join(dir, "scripts"));
        for (const f of readdirSync(join(ROOT, "scripts"))) {
            if (/^(ci-|assume-).*\.(sh|js)$/.test(f)) copyFileSync(join(ROOT, "scripts", f), join(dir, "scripts", f));
        }
        copyFileSync(join(ROOT, "serverless.yml"), join(dir, "serverless.yml"));
        copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
        symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
        mkdirSync(join(dir, "build"));
        const artifacts = await buildArtifacts();
        for (const fn of FUNCTION_ARTIFACTS) copyFileSync(join(artifacts, `${fn}.zip`), join(dir, "build", `${fn}.zip`));
        mkdirSync(join(dir, "fakebin"));
        copyFileSync(join(__dirname, "fakes", "aws"), join(dir, "fakebin", "aws"));
        chmodSync(join(dir, "fakebin", "aws"), 0o755);
        mkdirSync(join(dir, "home"));

        env = {};
        for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|SLS_|SERVERLESS_|npm_)/.test(k)) env[k] = v;
        Object.assign(env, PIPELINE_ENV, {
            PATH: `${join(dir, "fakebin")}:${dirname(process.execPath)}:${process.env.PATH}`,
            HOME: join(dir, "home"),
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `${mock.url}/creds`,
            AWS_ENDPOINT_URL: mock.url,
            AWS_EC2_METADATA_DISABLED: "true",
            SLS_AWS_MONITORING_FREQUENCY: "50",
            NPM_CONFIG_UPDATE_NOTIFIER: "false",
            FORCE_COLOR: "0",
            FAKE_LOG: join(dir, "aws-cli.log"),
            FAKE_EXPECT_STACK: "product-catalog-service-dev",
            FAKE_SERVICE_ENDPOINT: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
        });
    });

    after(async () => {
        await mock?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    let first: Awaited<ReturnType<typeof exec>>;
    let second: Awaited<ReturnType<typeof exec>>;

    it("first deploy creates the stack as the assumed deploy role, never with the build's own credentials", async () => {
        first = await exec(["bash", "scripts/ci-deploy.sh"]);
        expect(first.code, first.output).to.equal(0);
        expect(first.output).to.include("Service deployed to stack product-catalog-service-dev");
        expect(first.output).to.not.include("FAKESECRET");

        // the SDK itself assumed the role with the container credentials, as the profile says
        const assume = first.calls.filter((c) => c.action === "AssumeRole");
        expect(assume).to.have.length.greaterThan(0);
        for (const c of assume) {
            expect(c.akid).to.equal(CONTAINER_KEY);
            expect(c.params).to.include({
                RoleArn: PIPELINE_ENV.DEPLOY_ROLE_ARN,
                RoleSessionName: "codebuild-42-dev",
                DurationSeconds: "3600",
            });
        }
        const unexpected = first.calls.filter((c) => !["container-credentials", "sts"].includes(c.service) && c.akid !== ASSUMED_KEY);
        expect(unexpected, "calls not signed by the assumed role").to.deep.equal([]);
        expect(actions(first.calls, CONTAINER_KEY)).to.deep.equal(["sts:AssumeRole"]);
        expect(actions(first.calls)).to.deep.equal([...DEPLOY_API_CALLS.create].sort());
        // after the stack settles: the in-process `sls info` (DEPLOY_API_CALLS.info), then the old-artifact cleanup
        const sls = first.calls.filter((c) => c.akid === ASSUMED_KEY).map((c) => `${c.service}:${c.action}`);
        const settled = sls.lastIndexOf("cloudformation:DescribeStackEvents");
        expect(sls.slice(settled + 1)).to.deep.equal([...DEPLOY_API_CALLS.info, "s3:ListObjectsV2"]);
    });

    it("passes the CloudFormation execution role and keeps artifacts under this service/stage's bucket prefix", () => {
        const create = first.calls.find((c) => c.action === "CreateChangeSet")!;
        expect(create.params).to.include({
            StackName: "product-catalog-service-dev",
            ChangeSetName: "product-catalog-service-dev-change-set",
            ChangeSetType: "CREATE",
            RoleARN: PIPELINE_ENV.CFN_EXECUTION_ROLE_ARN,
            "Capabilities.member.1": "CAPABILITY_IAM",
            "Capabilities.member.2": "CAPABILITY_NAMED_IAM",
            "Tags.member.1.Key": "STAGE",
            "Tags.member.1.Value": "dev",
        });
        expect(create.params.TemplateURL).to.match(
            new RegExp(
                `^https://s3\\.amazonaws\\.com/${PIPELINE_ENV.DEPLOYMENT_BUCKET}/${PREFIX}[^/]+/compiled-cloudformation-template\\.json$`,
            ),
        );
        const s3 = first.calls.filter((c) => c.service === "s3");
        for (const c of s3) {
            expect(c.params.Bucket).to.equal(PIPELINE_ENV.DEPLOYMENT_BUCKET);
            if (c.params.Key) expect(c.params.Key.startsWith(PREFIX), c.params.Key).to.equal(true);
            if (c.action === "ListObjectsV2") expect(c.params.Prefix).to.equal(PREFIX);
        }
        expect(
            s3
                .filter((c) => c.action === "PutObject")
                .map((c) => c.params.Key.split("/").pop())
                .sort(),
        ).to.deep.equal(["compiled-cloudformation-template.json", "create-product.zip", "find-product.zip", "serverless-state.json"]);
        for (const c of first.calls.filter((x) => x.action === "GetFunction")) {
            expect(c.params.FunctionName).to.match(/^product-catalog-service-dev-(createProduct|findProduct)$/);
        }
        expect(JSON.parse(readFileSync(join(dir, "deploy-output.json"), "utf8")).url).to.equal(
            "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev",
        );
    });

    it("second deploy updates through a fresh change set", async () => {
        second = await exec(["bash", "scripts/ci-deploy.sh"]);
        expect(second.code, second.output).to.equal(0);
        expect(second.calls.find((c) => c.action === "CreateChangeSet")?.params.ChangeSetType).to.equal("UPDATE");
        expect(actions(second.calls)).to.deep.equal([...DEPLOY_API_CALLS.create, ...DEPLOY_API_CALLS.update].sort());
    });

    // Role chaining (CodeBuild's role -> deploy role) caps the assumed session at one hour, and a deploy can take
    // longer. Here sessions last 2 s and the mock refuses any request signed after expiry, as STS-issued
    // credentials are: the deploy only succeeds if the SDK re-assumes the role by itself when a session runs out.
    it("a deploy that outlives its assumed-role session re-assumes the role instead of failing", async () => {
        mock.setAssumedSessionSeconds(2);
        try {
            const refusedBefore = mock.expiredRejections;
            const run = await exec(["bash", "scripts/ci-deploy.sh"]);
            expect(run.code, run.output).to.equal(0);
            expect(mock.expiredRejections - refusedBefore, "requests sent with an expired session").to.equal(0);
            expect(run.calls.filter((c) => c.action === "AssumeRole").length, "AssumeRole calls").to.be.greaterThan(1);
            expect(run.output).to.not.include("FAKESECRET");

            // and the mock really does refuse an expired session (so the assertion above can fail)
            await new Promise((r) => setTimeout(r, 2100));
            const stale = await fetch(`${mock.url}/`, {
                method: "POST",
                headers: { authorization: `AWS4-HMAC-SHA256 Credential=${ASSUMED_KEY}/20260101/us-east-1/cloudformation/aws4_request` },
                body: "Action=DescribeStacks",
            });
            expect(stale.status).to.equal(400);
            expect(await stale.text()).to.contain("<Code>ExpiredToken</Code>");
        } finally {
            mock.setAssumedSessionSeconds(3600);
        }
    });
});
