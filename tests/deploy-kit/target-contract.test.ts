// components/target-contract.ts: how a build reads its target (DEPLOY_TARGET, JSON set by the pipeline's action) and
// how the tools stack reads a target stack's outputs — each problem one clear line naming the key.
import { expect } from "chai";
import {
    DEPLOY_TARGET_VARIABLE,
    deployTargetEnvironment,
    parseDeployTarget,
    parseTargetOutputs,
    targetOutputNames,
} from "../../components/target-contract";
import { DEV, DEV_TARGET, PROD_TARGET } from "./fixtures";

const json = (value: unknown) => JSON.stringify(value);
const refusal = (text: string | undefined): string => {
    try {
        parseDeployTarget(text);
    } catch (e) {
        return (e as Error).message;
    }
    return expect.fail(`expected ${text} to be refused`);
};

describe("target contract: DEPLOY_TARGET and a target stack's outputs", () => {
    it("round-trips a deploy target through the build's environment", () => {
        const env = deployTargetEnvironment(PROD_TARGET);
        expect(Object.keys(env)).to.deep.equal([DEPLOY_TARGET_VARIABLE]);
        expect(parseDeployTarget(env[DEPLOY_TARGET_VARIABLE])).to.deep.equal(PROD_TARGET);
    });

    it("reads a pulumi target, which has a secrets key instead of the execution and drift roles", () => {
        const { cfnExecutionRoleArn, driftRoleArn, ...common } = DEV_TARGET;
        expect([cfnExecutionRoleArn, driftRoleArn].every((v) => v.startsWith("arn:aws:iam::222222222222:role/"))).to.equal(true);
        const pulumi = {
            ...common,
            deployer: "pulumi",
            pulumiSecretsKeyArn: "arn:aws:kms:us-east-1:222222222222:key/0a1b2c3d-1111-2222-3333-444455556666",
        };
        expect(parseDeployTarget(json(pulumi))).to.deep.equal(pulumi);
        expect(targetOutputNames("pulumi")).to.include("pulumiSecretsKeyArn").and.not.include("cfnExecutionRoleArn");
    });

    describe("refuses, saying what is wrong", () => {
        it("no JSON, or JSON that is not an object", () => {
            expect(refusal(undefined)).to.equal(
                'DEPLOY_TARGET must be the JSON of a deploy target (set by the pipeline\'s action); got ""',
            );
            expect(refusal("{stage: dev}")).to.equal(
                'DEPLOY_TARGET must be the JSON of a deploy target (set by the pipeline\'s action); got "{stage: dev}"',
            );
            expect(refusal("[]")).to.equal("DEPLOY_TARGET must be a JSON object");
            expect(refusal("null")).to.equal("DEPLOY_TARGET must be a JSON object");
        });

        it("a missing or empty output, naming each", () => {
            const { driftRoleArn: _d, ...noDrift } = DEV_TARGET;
            expect(refusal(json({ ...noDrift, deploymentBucketName: "" }))).to.equal(
                'DEPLOY_TARGET has no output "deploymentBucketName", "driftRoleArn"',
            );
        });

        it("a deployer the kit does not know", () => {
            expect(refusal(json({ ...DEV_TARGET, deployer: "cdk" }))).to.equal(
                'DEPLOY_TARGET: output "deployer" must be one of serverless, pulumi; got "cdk"',
            );
            // a pulumi target without its key (it gave the serverless outputs instead)
            expect(refusal(json({ ...DEV_TARGET, deployer: "pulumi" }))).to.equal('DEPLOY_TARGET has no output "pulumiSecretsKeyArn"');
        });

        it("a bad ARN: not a role ARN, another account's, or with a line break", () => {
            const message = refusal(
                json({
                    ...DEV_TARGET,
                    deployRoleArn: "arn:aws:iam::333333333333:role/deploy-product-catalog-service-dev",
                    cfnExecutionRoleArn: "arn:aws:iam::222222222222:user/cfn",
                    driftRoleArn: `${DEV.driftRoleArn}\n[default]`,
                }),
            );
            expect(message.split("\n")).to.deep.equal([
                'DEPLOY_TARGET: deployRoleArn is in account 333333333333, not 222222222222: "arn:aws:iam::333333333333:role/deploy-product-catalog-service-dev"',
                'DEPLOY_TARGET: cfnExecutionRoleArn must be an IAM role ARN such as arn:aws:iam::222222222222:role/deploy-example; got "arn:aws:iam::222222222222:user/cfn"',
                `DEPLOY_TARGET: driftRoleArn must be an IAM role ARN such as arn:aws:iam::222222222222:role/deploy-example; got ${json(`${DEV.driftRoleArn}\n[default]`)}`,
            ]);
        });

        it("another service, a bad stage, account or boundary", () => {
            const message = refusal(
                json({
                    ...DEV_TARGET,
                    serviceName: "billing-service",
                    stage: "Dev",
                    permissionsBoundaryArn: "arn:aws:iam::222222222222:role/not-a-policy",
                }),
            );
            expect(message).to.include('DEPLOY_TARGET: serviceName is "billing-service": the target was set up for another service');
            expect(message).to.include("DEPLOY_TARGET: stage must be 1-16 characters");
            expect(message).to.include("DEPLOY_TARGET: permissionsBoundaryArn must be an IAM policy ARN");
            expect(refusal(json({ ...DEV_TARGET, accountId: "22222222222" }))).to.include(
                "accountId must be a 12-digit AWS account ID such as 111111111111",
            );
        });

        it("a target without the stage's settings", () => {
            const { approval: _a, ...noApproval } = DEV_TARGET;
            expect(refusal(json(noApproval))).to.equal(
                "DEPLOY_TARGET must carry the stage's settings (approval, smokeTest, rollbackOnFailure)",
            );
            expect(refusal(json({ ...DEV_TARGET, smokeTest: "none" }))).to.equal(
                "DEPLOY_TARGET must carry the stage's settings (approval, smokeTest, rollbackOnFailure)",
            );
        });
    });

    describe("parseTargetOutputs (a target stack read by the tools stack)", () => {
        it("takes a stack without a deployer output as a serverless target, and trusts a tools-account build role", () => {
            const { deployer: _d, ...outputs } = DEV;
            expect(DEV.trustedBuildRoleArn.split(":")[4]).to.equal("111111111111");
            expect(parseTargetOutputs(outputs, "stack acme/target/dev")).to.deep.equal({ outputs: DEV, problems: [] });
        });

        it("prefixes every problem with where the outputs come from, and reports them all", () => {
            const parsed = parseTargetOutputs({ ...DEV, region: "US East", deploymentBucketName: "Bad_Bucket" }, "stack acme/target/dev");
            expect(parsed.outputs).to.equal(undefined);
            expect(parsed.problems).to.deep.equal([
                'stack acme/target/dev: region must be an AWS region such as "us-east-1"; got "US East"',
                'stack acme/target/dev: deploymentBucketName must be an S3 bucket name; got "Bad_Bucket"',
            ]);
        });
    });
});
